#!/usr/bin/env bash
# The CPU table in one command (issue 25). Given JAVA_HOME (a JDK 25), after ./mvnw -q install -DskipTests:
#   1. the JMH decode and prefill benchmarks on the cpu backend, with the machine's read bandwidth and vector FMA
#      peak measured in the same run (OUT/jmh-*.json, and the ratio tables OUT/table-*.md);
#   2. PyTorch's CPU attention on the same shapes, when python3 has torch (OUT/torch_cpu.jsonl);
#   3. OUT/results.json: both, with the CPU, the JVM's vector width and FMA, the commit.
# Usage: benchmarks/cpu/run.sh [OUT] (default cpu-results). HYSPARSE_JMH_DECODE and HYSPARSE_JMH_PREFILL replace the
# two JMH runs' selection and settings.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p "${1:-cpu-results}" && cd "${1:-cpu-results}" && pwd)"
: "${JAVA_HOME:?set JAVA_HOME to a JDK 25}"
bench_jar="$root/benchmarks/target/benchmarks.jar"
[ -f "$bench_jar" ] || { echo "run.sh: $bench_jar not found; build first: ./mvnw -q install -DskipTests" >&2; exit 2; }

# Two JMH runs, because a parameter list applies to every benchmark of a run (prefill at T = 128k would take minutes).
jmh_rc=0
bench() { # name, default arguments
  local -a jmh
  read -r -a jmh <<< "$2"
  "$JAVA_HOME/bin/java" -jar "$bench_jar" "${jmh[@]}" -rf json -rff "$out/jmh-$1.json" --table "$out/table-$1.md" > "$out/jmh-$1.txt" 2>&1 || jmh_rc=1
  cat "$out/table-$1.md" >&2 2>/dev/null || tail -n 5 "$out/jmh-$1.txt" >&2
}
echo "run.sh: 1/2 JMH on cpu: decode, prefill" >&2
bench decode "${HYSPARSE_JMH_DECODE:-DecodeBench.(denseOracle|sparseK16|sparseK32) -p tokens=8192,131072 -p kv=fp32,fp16,bf16 -wi 1 -i 3}"
bench prefill "${HYSPARSE_JMH_PREFILL:-PrefillBench -p tokens=8192 -p kv=fp32,fp16 -wi 1 -i 3}"

echo "run.sh: 2/2 PyTorch CPU" >&2
if python3 -c 'import torch' 2>/dev/null; then
  python3 "$root/benchmarks/cpu/torch_cpu.py" > "$out/torch_cpu.jsonl" 2> "$out/torch.txt"
  torch_note="measured"
  cat "$out/torch.txt" >&2
else
  torch_note="not measured: python3 has no torch here"
  echo "run.sh: $torch_note" >&2
fi

python3 - "$out" "$root" "$jmh_rc" "$torch_note" <<'PY'
import json, os, platform, subprocess, sys
out, root, jmh_rc, torch_note = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=root).stdout.strip()
    except OSError:
        return ""
java = os.path.join(os.environ["JAVA_HOME"], "bin", "java")
flags = [l.split()[1] + "=" + l.split()[3] for l in run(java, "-XX:+PrintFlagsFinal", "-version").splitlines()
         if len(l.split()) > 3 and l.split()[1] in ("UseAVX", "MaxVectorSize", "UseFMA", "UseSuperWord")]
model = next((l.split(":", 1)[1].strip() for l in run("lscpu").splitlines() if l.startswith("Model name")), platform.processor())
jmh, table = [], ""
for part in ("decode", "prefill"):
    p = os.path.join(out, f"jmh-{part}.json")
    if os.path.exists(os.path.join(out, f"table-{part}.md")):
        table += open(os.path.join(out, f"table-{part}.md")).read()
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        continue
    for r in json.load(open(p)):
        jmh.append({"benchmark": r["benchmark"].split(".")[-2] + "." + r["benchmark"].split(".")[-1], "params": r.get("params", {}),
                    "score": r["primaryMetric"]["score"], "error": r["primaryMetric"].get("scoreError"), "unit": r["primaryMetric"]["scoreUnit"]})
torch = [json.loads(l) for l in open(os.path.join(out, "torch_cpu.jsonl")) if l.startswith("{")] if os.path.exists(os.path.join(out, "torch_cpu.jsonl")) else []
result = {"commit": run("git", "rev-parse", "HEAD"),
          "machine": {"host": platform.node(), "cpu": model, "cpu_cores": os.cpu_count(), "jvm_flags": flags, "java": java},
          "jmh": {"exit_code": jmh_rc, "results": jmh, "table": table},
          "torch": {"note": torch_note, "results": torch}}
json.dump(result, open(os.path.join(out, "results.json"), "w"), indent=1)
print(f"run.sh: {out}/results.json: {len(jmh)} JMH results; torch {torch_note}", file=sys.stderr)
PY
[ "$jmh_rc" -eq 0 ]
