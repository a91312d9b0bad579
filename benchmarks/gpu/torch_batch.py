#!/usr/bin/env python3
"""PyTorch's batched decode on BatchDecodeBench's shapes, timed on the GPU: the peer of the continuous-batching table.

Shapes: Hq=32, Hkv=8, D=128, B=64, W=128, fp16; `batch` sequences with lengths uniform in 4096..32768 (seeded).
For each batch size, one JSON line each:
- dense decode, padded: one SDPA over the batch padded to its longest sequence with a key mask (reads the padding);
- dense decode, per sequence: one SDPA per sequence in a loop (reads exactly each sequence's KV, one launch each);
- sparse decode: per sequence gather 16 selected blocks (random, seeded) plus the W-token window, padded to one batch, two SDPAs;
and the device's copy bandwidth (1 GiB device-to-device), so that each dense figure is also a fraction of it.
Tokens/s is batch over the time of one step; KV GB/s counts each sequence's own keys and values once.
Random data (never zeros); CUDA events time the median of repeated calls after warm-up.
"""
import json
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_attention import copy_bandwidth, dev, timed  # noqa: E402  (one timing method for both scripts)

HQ, HKV, D, B, W, K = 32, 8, 128, 64, 128, 16
torch.manual_seed(20261204)


def main():
    sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "1,8,32,64,128").split(",")]
    peak = copy_bandwidth()
    print(json.dumps({"bench": "device copy bandwidth", "GBps": round(peak, 1)}))
    for batch in sizes:
        rnd = random.Random(11 + batch)
        lens = [rnd.randint(4096, 32768) for _ in range(batch)]
        tmax = max(lens)
        dt = torch.float16
        k = torch.randn(batch, HKV, tmax, D, device=dev, dtype=dt)
        v = torch.randn(batch, HKV, tmax, D, device=dev, dtype=dt)
        q = torch.randn(batch, HQ, 1, D, device=dev, dtype=dt)
        mask = torch.zeros(batch, 1, 1, tmax, device=dev, dtype=torch.bool)
        for i, n in enumerate(lens):
            mask[i, 0, 0, :n] = True
        kv_bytes = sum(2 * n * HKV * D * 2 for n in lens)

        padded = timed(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True))
        loop = timed(lambda: [F.scaled_dot_product_attention(q[i:i + 1], k[i:i + 1, :, :n], v[i:i + 1, :, :n], enable_gqa=True)
                              for i, n in enumerate(lens)])
        for name, ms in (("dense decode, padded + mask", padded), ("dense decode, per sequence", loop)):
            gbps = kv_bytes / (ms / 1e3) / 1e9
            print(json.dumps({"bench": name, "batch": batch, "ms": round(ms, 4), "tokens_per_s": round(batch / (ms / 1e3), 1),
                              "KV_GBps": round(gbps, 1), "fraction_of_copy_bw": round(gbps / peak, 3)}))

        idx = torch.empty(batch, K * B, dtype=torch.long, device=dev)
        win = torch.empty(batch, W, dtype=torch.long, device=dev)
        for i, n in enumerate(lens):
            blocks = torch.randperm(n // B, device=dev)[:K].sort().values
            idx[i] = (blocks[:, None] * B + torch.arange(B, device=dev)[None, :]).reshape(-1)
            win[i] = torch.arange(n - W, n, device=dev)

        def gather(x, at):
            return torch.gather(x, 2, at[:, None, :, None].expand(-1, HKV, -1, D))

        def sparse():
            o1 = F.scaled_dot_product_attention(q, gather(k, idx), gather(v, idx), enable_gqa=True)
            o2 = F.scaled_dot_product_attention(q, gather(k, win), gather(v, win), enable_gqa=True)
            return 0.5 * o1 + 0.5 * o2

        ms = timed(sparse)
        print(json.dumps({"bench": "sparse decode k=16 (gather + SDPA)", "batch": batch, "ms": round(ms, 4),
                          "tokens_per_s": round(batch / (ms / 1e3), 1), "vs_dense_best": round(min(padded, loop) / ms, 2)}))
        del k, v
        torch.cuda.empty_cache()
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
