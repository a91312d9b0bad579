#!/usr/bin/env bash
# The GPU table in one command (issue 24). Given JAVA_HOME (a JDK 25) and TORNADOVM_HOME (a TornadoVM SDK) on a GPU
# machine, after ./mvnw -q install -DskipTests:
#   1. the conformance kit on the tornado backend, every KV precision (JUnit XML in OUT/junit);
#   2. the JMH decode, prefill and batched-decode benchmarks on the tornado backend, in-process through the
#      hysparse launcher so that they get TornadoVM's flags (OUT/jmh.json);
#   3. PyTorch's peers on the same shapes, when python3 has torch (OUT/torch_attention.jsonl, OUT/torch_batch.jsonl);
#   4. OUT/results.json: all of the above with the machine, versions and commit.
# Usage: benchmarks/gpu/run.sh [OUT] (default gpu-results). HYSPARSE_JMH_ARGS replaces the JMH selection and settings,
# HYSPARSE_KIT_KV the kit's precisions (default fp32,fp16,bf16). Backend options: HYSPARSE_BENCH_OPTIONS (e.g. device=0:0).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p "${1:-gpu-results}" && cd "${1:-gpu-results}" && pwd)"
: "${JAVA_HOME:?set JAVA_HOME to a JDK 25}"
: "${TORNADOVM_HOME:?set TORNADOVM_HOME to a TornadoVM SDK}"
hs="$root/cli/bin/hysparse"
bench_jar="$root/benchmarks/target/benchmarks.jar"
for f in "$root/cli/target/hysparse.jar" "$bench_jar"; do
  [ -f "$f" ] || { echo "run.sh: $f not found; build first: ./mvnw -q install -DskipTests" >&2; exit 2; }
done
options="${HYSPARSE_BENCH_OPTIONS:-}"

echo "run.sh: 1/3 conformance kit on tornado" >&2
"$hs" conformance --backend tornado --kv "${HYSPARSE_KIT_KV:-fp32,fp16,bf16}" ${options:+--options "$options"} \
  --junit-xml "$out/junit" > "$out/conformance.txt" 2>&1
kit_rc=$?
tail -n 4 "$out/conformance.txt" >&2

echo "run.sh: 2/3 JMH on tornado" >&2
read -r -a jmh <<< "${HYSPARSE_JMH_ARGS:-DecodeBench|PrefillBench|BatchDecodeBench -p batch=1,8,32,64 -wi 1 -i 3 -w 1 -r 1}"
HYSPARSE_CLASSPATH="$bench_jar" HYSPARSE_MAIN=org.openjdk.jmh.Main \
  HYSPARSE_JAVA_OPTS="${HYSPARSE_JAVA_OPTS:-} -Dhysparse.bench.options=$options" \
  "$hs" "${jmh[@]}" -f 0 -p backend=tornado -rf json -rff "$out/jmh.json" > "$out/jmh.txt" 2>&1
jmh_rc=$?
grep -E '^(Decode|Prefill|BatchDecode)Bench' "$out/jmh.txt" >&2 || tail -n 5 "$out/jmh.txt" >&2

echo "run.sh: 3/3 PyTorch" >&2
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  python3 "$root/benchmarks/gpu/torch_attention.py" > "$out/torch_attention.jsonl" 2> "$out/torch.txt"
  python3 "$root/benchmarks/gpu/torch_batch.py" > "$out/torch_batch.jsonl" 2>> "$out/torch.txt"
  torch_note="measured"
else
  torch_note="not measured: python3 has no torch with CUDA here"
  echo "run.sh: $torch_note" >&2
fi

python3 - "$out" "$root" "$kit_rc" "$jmh_rc" "$torch_note" <<'PY'
import glob, json, os, platform, subprocess, sys
import xml.etree.ElementTree as ET
out, root, kit_rc, jmh_rc, torch_note = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def lines(name):
    p = os.path.join(out, name)
    return [json.loads(l) for l in open(p) if l.strip().startswith("{")] if os.path.exists(p) else []
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=root).stdout.strip()
    except OSError:
        return ""
cases = []
for f in sorted(glob.glob(os.path.join(out, "junit", "*.xml"))):
    for tc in ET.parse(f).getroot().iter("testcase"):
        status = "failed" if tc.find("failure") is not None else "skipped" if tc.find("skipped") is not None else "passed"
        cases.append({"suite": os.path.basename(f), "rule": tc.get("name"), "status": status})
jmh = []
if os.path.exists(os.path.join(out, "jmh.json")):
    for r in json.load(open(os.path.join(out, "jmh.json"))):
        jmh.append({"benchmark": r["benchmark"].split(".")[-2] + "." + r["benchmark"].split(".")[-1], "params": r.get("params", {}),
                    "score": r["primaryMetric"]["score"], "error": r["primaryMetric"].get("scoreError"), "unit": r["primaryMetric"]["scoreUnit"]})
result = {
    "commit": run("git", "rev-parse", "HEAD"),
    "machine": {"host": platform.node(), "gpu": run("nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"),
                "cpu_cores": os.cpu_count(), "tornadovm": os.environ.get("TORNADOVM_HOME", ""), "java": os.environ.get("JAVA_HOME", "")},
    "conformance": {"exit_code": kit_rc, "passed": sum(c["status"] == "passed" for c in cases),
                    "failed": sum(c["status"] == "failed" for c in cases), "skipped": sum(c["status"] == "skipped" for c in cases), "rules": cases},
    "jmh": {"exit_code": jmh_rc, "results": jmh},
    "torch": {"note": torch_note, "attention": lines("torch_attention.jsonl"), "batch": lines("torch_batch.jsonl")},
}
json.dump(result, open(os.path.join(out, "results.json"), "w"), indent=1)
c = result["conformance"]
print(f"run.sh: {out}/results.json: kit {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped; {len(jmh)} JMH results; torch {torch_note}", file=sys.stderr)
PY
[ "$kit_rc" -eq 0 ] && [ "$jmh_rc" -eq 0 ]
