#!/usr/bin/env python3
"""PyTorch's attention on the same shapes as the hysparse JMH benchmarks, timed on the GPU.

Shapes: Hq=32, Hkv=8, D=128, B=64, W=128. Prints one JSON line per measurement and a table:
- dense decode: SDPA of one query row over T keys (GQA), fp32 and fp16 KV;
- sparse decode: gather k selected blocks of the cache plus the W-token window, then SDPA;
- causal prefill: SDPA with is_causal over T rows;
- the device's measured copy bandwidth (a large device-to-device copy), so decode can be stated as a
  fraction of what this GPU's memory actually delivers.
Random data (never zeros), fixed seed. CUDA events time the median of repeated calls after warm-up.
"""
import json
import sys

import torch
import torch.nn.functional as F

HQ, HKV, D, B, W = 32, 8, 128, 64, 128
dev = torch.device("cuda")
torch.manual_seed(20261122)


def timed(fn, reps=50, warm=10):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    times.sort()
    return times[len(times) // 2]


def copy_bandwidth():
    n = 1 << 30  # 1 GiB read + 1 GiB written
    a = torch.empty(n, dtype=torch.uint8, device=dev).random_()
    b = torch.empty_like(a)
    ms = timed(lambda: b.copy_(a), reps=20)
    return 2 * n / (ms / 1e3) / 1e9


def main():
    rows = []
    peak = copy_bandwidth()
    rows.append({"bench": "device copy bandwidth", "GBps": round(peak, 1)})
    for dtype in (torch.float32, torch.float16):
        name = "fp32" if dtype == torch.float32 else "fp16"
        for t in (8192, 32768, 131072):
            q = torch.randn(1, HQ, 1, D, device=dev, dtype=dtype)
            k = torch.randn(1, HKV, t, D, device=dev, dtype=dtype)
            v = torch.randn(1, HKV, t, D, device=dev, dtype=dtype)
            dense = timed(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
            kv_bytes = 2 * t * HKV * D * k.element_size()
            rows.append({"bench": "decode dense", "kv": name, "T": t, "ms": round(dense, 4),
                         "GBps": round(kv_bytes / (dense / 1e3) / 1e9, 1),
                         "fraction_of_copy_bw": round(kv_bytes / (dense / 1e3) / 1e9 / peak, 3)})
            nb = t // B
            for kk in (16, 32, 64):
                blocks = torch.randperm(nb, device=dev)[:kk].sort().values
                idx = (blocks[:, None] * B + torch.arange(B, device=dev)[None, :]).reshape(-1)
                win = torch.arange(t - W, t, device=dev)

                def sparse():
                    ks = k.index_select(2, idx)
                    vs = v.index_select(2, idx)
                    o1 = F.scaled_dot_product_attention(q, ks, vs, enable_gqa=True)
                    o2 = F.scaled_dot_product_attention(q, k.index_select(2, win), v.index_select(2, win), enable_gqa=True)
                    return 0.5 * o1 + 0.5 * o2

                ms = timed(sparse)
                rows.append({"bench": "decode sparse (gather + SDPA)", "kv": name, "T": t, "k": kk, "ms": round(ms, 4),
                             "speedup_vs_dense": round(dense / ms, 2)})
            del k, v
        for t in (2048, 8192):
            q = torch.randn(1, HQ, t, D, device=dev, dtype=dtype)
            k = torch.randn(1, HKV, t, D, device=dev, dtype=dtype)
            v = torch.randn(1, HKV, t, D, device=dev, dtype=dtype)
            ms = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True), reps=20)
            flops = 4.0 * D * HQ * t * (t + 1) / 2
            rows.append({"bench": "prefill causal", "kv": name, "T": t, "ms": round(ms, 4), "TFLOPs": round(flops / (ms / 1e3) / 1e12, 1)})
    for r in rows:
        print(json.dumps(r))
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
