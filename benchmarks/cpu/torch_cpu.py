#!/usr/bin/env python3
"""PyTorch's CPU attention on the shapes of the hysparse JMH DecodeBench/PrefillBench, as the CPU peer.

Shapes: Hq=32, Hkv=8, D=128, B=64, W=128. One JSON line per measurement, then a table:
- dense decode: SDPA of one query row over T keys (GQA by repeating K/V heads), fp32 and bf16;
- sparse decode: gather k = 32 blocks plus the W-token window, then SDPA (fp32);
- causal prefill at T = 8k (fp32);
- read bandwidth: a 1 GiB float32 sum, so decode can be stated against what this machine's memory delivers.
Random data (never zeros), fixed seed; the median of repeated calls after warm-up. Threads: torch's default
(all cores) unless TORCH_THREADS is set.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HQ, HKV, D, B, W = 32, 8, 128, 64, 128
torch.manual_seed(20261122)
if os.environ.get("TORCH_THREADS"):
    torch.set_num_threads(int(os.environ["TORCH_THREADS"]))


def timed(fn, reps=20, warm=3):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def emit(**kw):
    print(json.dumps(kw), flush=True)
    return kw


def main():
    rows = []
    x = torch.rand(1 << 28)  # 1 GiB of float32
    ms = timed(lambda: x.sum(), reps=10)
    gbs = (1 << 30) / (ms / 1e3) / 1e9
    rows.append(emit(what="read bandwidth (1 GiB sum)", ms=ms, gbs=gbs))
    del x
    for T in [8192, 131072]:
        for dt in [torch.float32, torch.bfloat16]:
            q = torch.randn(1, HQ, 1, D, dtype=dt)
            k = torch.randn(1, HKV, T, D, dtype=dt).repeat_interleave(HQ // HKV, dim=1)
            v = torch.randn(1, HKV, T, D, dtype=dt).repeat_interleave(HQ // HKV, dim=1)
            ms = timed(lambda: F.scaled_dot_product_attention(q, k, v))
            rows.append(emit(what=f"dense decode {str(dt)[6:]} T={T}", ms=ms))
            del k, v
        kc = torch.randn(HKV, T, D)
        vc = torch.randn(HKV, T, D)
        q = torch.randn(1, HQ, 1, D)
        blocks = torch.randperm(T // B)[:32].sort().values
        idx = torch.cat([(blocks[:, None] * B + torch.arange(B)).flatten(), torch.arange(T - W, T)])

        def sparse():
            ks = kc[:, idx].repeat_interleave(HQ // HKV, dim=0)[None]
            vs = vc[:, idx].repeat_interleave(HQ // HKV, dim=0)[None]
            return F.scaled_dot_product_attention(q, ks, vs)

        rows.append(emit(what=f"sparse decode k=32 fp32 T={T} (gather + SDPA)", ms=timed(sparse)))
    T = 8192
    q = torch.randn(1, HQ, T, D)
    k = torch.randn(1, HKV, T, D).repeat_interleave(HQ // HKV, dim=1)
    v = torch.randn(1, HKV, T, D).repeat_interleave(HQ // HKV, dim=1)
    ms = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), reps=3, warm=1)
    flops = 4.0 * D * HQ * T * (T + 1) / 2
    rows.append(emit(what="causal prefill fp32 T=8192", ms=ms, gflops=flops / (ms / 1e3) / 1e9))
    print(f"\n| PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads | ms |", file=sys.stderr)
    for r in rows:
        print(f"| {r['what']} | {r['ms']:.3f} |", file=sys.stderr)


if __name__ == "__main__":
    main()
