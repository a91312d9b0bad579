#!/usr/bin/env python3
"""Where a tornado run's one-time costs go: TornadoVM's profiler output (-Dtornado.profiler=True) summed per task graph.

usage: compile_times.py <output of hysparse run with the profiler on>
Prints one JSON object: per graph name (a: appends, o/p: the oracle and sparse graphs sized for prefill, o1/p1 their
decode-sized twins, s: the selection plan), how many times it was compiled (once per KV pool's plan: TornadoVM keeps
compiled kernels per execution plan), TornadoVM's Graal time and the device compiler's time (NVRTC on the CUDA
driver), in milliseconds; the totals; and the run's own prefill line, for comparison.
"""
import json
import re
import sys


def main(path):
    graphs, buf, prefill = {}, "", None
    for line in open(path, errors="replace"):
        if line.startswith("prefill tail"):
            prefill = " ".join(line.split())
        if line.startswith("{"):
            buf = line
            continue
        if buf:
            buf += line
            if line.startswith("}"):
                try:
                    blob = json.loads(buf)
                except ValueError:
                    blob = {}
                buf = ""
                for name, v in blob.items():
                    if not isinstance(v, dict):
                        continue
                    graal = int(v.get("TOTAL_GRAAL_COMPILE_TIME", 0)) / 1e6
                    driver = int(v.get("TOTAL_DRIVER_COMPILE_TIME", 0)) / 1e6
                    if graal or driver:
                        g = graphs.setdefault(name, {"compiles": 0, "graalMs": 0.0, "driverMs": 0.0})
                        g["compiles"] += 1
                        g["graalMs"] = round(g["graalMs"] + graal, 1)
                        g["driverMs"] = round(g["driverMs"] + driver, 1)
    print(json.dumps({"graphs": graphs,
                      "totalGraalMs": round(sum(g["graalMs"] for g in graphs.values()), 1),
                      "totalDriverMs": round(sum(g["driverMs"] for g in graphs.values()), 1),
                      "prefillLine": prefill}))


if __name__ == "__main__":
    main(sys.argv[1])
