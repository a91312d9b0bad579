package org.hysparse.backend.tornado;

import static org.hysparse.backend.tornado.Kernels.*;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.enums.MMAShape;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.HalfFloat;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The prefill kernel on tensor cores (docs/adr/0008): {@link Kernels#attendTile}'s work-groups, tiles, splits, masks,
 * softmax and partial states, with both products on TornadoVM's warp MMA ({@code mma.sync} m16n8k16, float16 in,
 * float32 accumulators). TornadoVM's CUDA driver only, float16 caches in half arrays ({@code nativeHalf} 1), head dims
 * that are a multiple of 32 up to 128. The {@link Kernels#SLOTS} query vectors of a work-group are the 16 rows of the
 * A operand; its four warps take 32 keys of a chunk each for the logits and 32 dimensions each for the values.
 * <p>TornadoVM 5.2 loads an operand from a local int array of packed halves ({@code lo | hi << 16}; A a 16 x 16
 * row-major tile, B a 16 x 8 row-major tile, at a byte offset) and lets an accumulator out only through
 * {@code mmaStore} to a global float array: it cannot be read, scaled or reloaded in registers. So each product goes
 * through {@code scratch}, a region of {@code SLOTS * LOCAL} floats a work-group (it stays in the SM's L1/L2): the
 * logits are stored there and read back, masked, into the chunk's row of probabilities; the chunk's P V is stored
 * there and added to the running output (scaled by the chunk's factor) on CUDA cores. P is rounded to half for its
 * product, as flash attention does; Q is scaled first, then rounded.
 * <p>The softmax and the oracle's segment statistics are {@link Kernels#attendTile}'s lines: TornadoVM 5.2 mis-indexes
 * local arrays handed to another method, so they cannot be shared through a helper.
 */
final class TensorCoreKernels {
    /** Keys (logits) or dimensions (values) one warp takes of a chunk: four n-tiles of eight. */
    static final int WARP_COLS = 32;
    /** The largest head dim served (four warps of dimensions): the row stride of the running outputs. */
    static final int DMMA = 4 * WARP_COLS;
    /** float16's mantissa bits: the 16-bit layouts of {@link Kernels#keyAt} and {@link Kernels#valueAt}. */
    static final int MBITS = 10;

    private TensorCoreKernels() {
    }

    /** Whether {@link #attendMma} serves a pool of head dim {@code d}: whole warps of dimensions, at most four. */
    static boolean serves(int d) {
        return d % WARP_COLS == 0 && d <= DMMA;
    }

    static void attendMma(KernelContext ctx, FloatArray q, HalfFloatArray kx, HalfFloatArray vx, int shapeB, int shapeD, int shapeHkv,
                          IntArray p, IntArray sel, FloatArray partial, FloatArray stats, FloatArray scratch) {
        // Packed half operands: Q's A tiles (one 16 x 16 tile a step of 16 dimensions, 128 words each), this chunk's P
        // (one A tile a step of 16 keys), and each warp's B tiles of a round (four n-tiles of 64 words for each of its
        // two steps), in two halves that rounds alternate between.
        int[] qT = ctx.allocateIntLocalArray(SLOTS * 64);
        int[] pT = ctx.allocateIntLocalArray(SLOTS * 64);
        int[] bT = ctx.allocateIntLocalArray(4 * 4 * 256);
        float[] acc = ctx.allocateFloatLocalArray(SLOTS * DMMA);
        float[] pr = ctx.allocateFloatLocalArray(SLOTS * LOCAL);
        float[] part = ctx.allocateFloatLocalArray(LOCAL);
        float[] top = ctx.allocateFloatLocalArray(LOCAL);
        float[] st = ctx.allocateFloatLocalArray(5 * SLOTS);
        int[] lim = ctx.allocateIntLocalArray(2 * SLOTS);
        int[] kpos = ctx.allocateIntLocalArray(LOCAL);
        int[] krow = ctx.allocateIntLocalArray(LOCAL);
        int[] vrow = ctx.allocateIntLocalArray(LOCAL);
        int[] tblk = ctx.allocateIntLocalArray(LOCAL);
        int[] tpage = ctx.allocateIntLocalArray(LOCAL);
        int lid = ctx.localIdx, warp = lid / 32, lane = lid % 32;
        int hq = p.get(HQ), hkv = shape(shapeHkv, p, HKV), d = p.get(DIM), b = shape(shapeB, p, BLOCK);
        int group = hq / hkv, groups = (group + HEADS - 1) / HEADS, hs = TornadoMath.min(HEADS, group);
        boolean oracle = p.get(MODE) == 0;
        int splits = p.get(SPLITS), per = oracle ? splits : splits + 1;
        int sp = ctx.groupIdx % per, unit = ctx.groupIdx / per;
        int hg = unit % groups, h = (unit / groups) % hkv, tile = unit / groups / hkv;
        int tiles = p.get(TILES);
        int r0 = tile < tiles ? p.get(p.get(TILES_AT) + 2 * tile) : 0, rows = tile < tiles ? p.get(p.get(TILES_AT) + 2 * tile + 1) : 0;
        int heads = TornadoMath.min(HEADS, group - hg * HEADS), x0 = h * group + hg * HEADS;
        boolean window = !oracle && sp == splits;
        int region = ctx.groupIdx * SLOTS * LOCAL;
        int latest = -1, earliest = Integer.MAX_VALUE;
        for (int k = 0; k < rows; k++) {
            latest = TornadoMath.max(latest, p.get(PARAMS + r0 + k));
            earliest = TornadoMath.min(earliest, p.get(PARAMS + r0 + k));
        }
        // (Each half is made from a float variable: TornadoVM's CUDA driver turns `new HalfFloat(x)` into a conversion only
        // when nothing is evaluated between the allocation and the constructor, as an array read or a ternary would be.)
        // Q, scaled, as half pairs: word c of row s in step ks holds dimensions 16 ks + 2c and + 1 of slot s.
        float scale = q.get(0);
        for (int i = lid; i < SLOTS * d / 2; i += LOCAL) {
            int ks = i / 128, s = (i / 8) % 16, e = 16 * ks + 2 * (i % 8);
            boolean used = s / hs < rows && s % hs < heads;
            int at = 1 + ((r0 + s / hs) * hq + x0 + s % hs) * d + e;
            float lo = used ? q.get(at) * scale : 0f, hi = used ? q.get(at + 1) * scale : 0f;
            qT[i] = (new HalfFloat(lo).getHalfFloatValue() & 0xffff) | ((new HalfFloat(hi).getHalfFloatValue() & 0xffff) << 16);
        }
        for (int i = lid; i < SLOTS * DMMA; i += LOCAL) acc[i] = 0f;
        if (lid < SLOTS) {
            boolean used = lid / hs < rows && lid % hs < heads;
            int last = used ? p.get(PARAMS + r0 + lid / hs) : -1;
            lim[lid] = window ? TornadoMath.max(0, last - p.get(WINDOW) + 1) : 0;
            lim[SLOTS + lid] = last;
            st[lid] = Float.NEGATIVE_INFINITY;
            st[SLOTS + lid] = 0f;
        }
        // As attendTile's: the tile's first row names its query block's list, its sequence's block table and ring.
        int list = h * p.get(NQB) + p.get(p.get(ROW_QB_AT) + r0), listAt = oracle ? 0 : list * p.get(SEL_STRIDE);
        int tableAt = p.get(p.get(ROW_TABLE_AT) + r0), ringAt = p.get(ROW_RING_AT) + 2 * r0;
        int blocks = rows == 0 ? 0 : oracle ? latest / b + 1 : sel.get(p.get(COUNT_AT) + list);
        int share = (blocks + splits - 1) / splits;
        int c0 = sp * share, c1 = TornadoMath.min(blocks, c0 + share);
        int from = TornadoMath.max(0, earliest - p.get(WINDOW) + 1);
        int keys = window ? (p.get(WINDOW) > 0 && rows > 0 ? latest + 1 - from : 0) : TornadoMath.max(0, c1 - c0) * b;
        int seg = TornadoMath.min(b, LOCAL), pps = seg / PART_KEYS;
        int ms = lid / PARTS, kp = (lid % PARTS) * PART_KEYS;
        int row = rowOf(shapeD, p), kPage = kPageOf(shapeB, shapeHkv, shapeD, MBITS, p), vPage = pageOf(shapeB, shapeHkv, shapeD, p);
        ctx.localBarrier();
        int wb = -LOCAL;
        for (int i0 = 0; i0 < keys; i0 += LOCAL) {
            if (!window && TornadoMath.min(c1 - c0 - 1, (i0 + LOCAL - 1) / b) >= wb + LOCAL) {
                wb = i0 / b;
                ctx.localBarrier();
                int cw = c0 + wb + lid;
                if (cw < c1) {
                    int bw = oracle ? cw : sel.get(listAt + cw);
                    tblk[lid] = bw;
                    tpage[lid] = p.get(tableAt + bw);
                }
                ctx.localBarrier();
            }
            // Key lid of the chunk: its position and where its K and V rows start (a key past the chunk's end keeps
            // an address inside the buffers; its logits are masked and its values zeroed below).
            int i = i0 + lid, pos, t;
            if (window) {
                pos = from + i;
                t = p.get(ringAt) + pos % p.get(ringAt + 1);
            } else {
                int rel = TornadoMath.min(i / b, c1 - c0 - 1) - wb;
                pos = tblk[rel] * b + i % b;
                t = tpage[rel] * b + i % b;
            }
            kpos[lid] = i < keys ? pos : -1;
            krow[lid] = keyAt(t, h, 0, b, d, row, kPage, MBITS);
            vrow[lid] = valueAt(t, h, 0, b, row, vPage, MBITS);
            ctx.localBarrier();
            // Logits: warp w's keys 32 w .. 32 w + 31 against all slots, 16 dimensions a step. Word np of B row kk holds
            // dimension 16 ks + kk of keys 2 np and 2 np + 1 of the n-tile.
            float[] s0 = ctx.mmaFragment(0f);
            float[] s1 = ctx.mmaFragment(0f);
            float[] s2 = ctx.mmaFragment(0f);
            float[] s3 = ctx.mmaFragment(0f);
            // Two steps of 16 dimensions a round. Lane word w = lane + 32 j of the warp's tiles: n-tile j / 2's keys kb + 8 (j / 2)
            // and + 1, dimension 16 ks + lane / 4 + 8 (j % 2). The round's 32 loads are all issued before its 16 local
            // stores: TornadoVM hands arrays to the kernel as untyped pointers, which a local store may alias, so a load
            // placed after one waits for it, one memory round trip a word (found in the printed kernel's PTX). The
            // rounds alternate between two halves of bT, so a round needs one barrier, not two.
            int kb = WARP_COLS * warp + 2 * (lane % 4), wAt = warp * 256 + lane;
            int k0 = krow[kb], k1 = krow[kb + 1], k8 = krow[kb + 8], k9 = krow[kb + 9];
            int k16 = krow[kb + 16], k17 = krow[kb + 17], k24 = krow[kb + 24], k25 = krow[kb + 25];
            for (int ks = 0; ks < d / 16; ks += 2) {
                int e0 = 16 * ks + lane / 4;
                int o0 = (e0 / 2) * 2 * b + (e0 & 1), o1 = o0 + 8 * b, o2 = o0 + 16 * b, o3 = o0 + 24 * b;
                int w0 = pairOf(kx, k0 + o0, k1 + o0), w1 = pairOf(kx, k0 + o1, k1 + o1);
                int w2 = pairOf(kx, k8 + o0, k9 + o0), w3 = pairOf(kx, k8 + o1, k9 + o1);
                int w4 = pairOf(kx, k16 + o0, k17 + o0), w5 = pairOf(kx, k16 + o1, k17 + o1);
                int w6 = pairOf(kx, k24 + o0, k25 + o0), w7 = pairOf(kx, k24 + o1, k25 + o1);
                int z0 = pairOf(kx, k0 + o2, k1 + o2), z1 = pairOf(kx, k0 + o3, k1 + o3);
                int z2 = pairOf(kx, k8 + o2, k9 + o2), z3 = pairOf(kx, k8 + o3, k9 + o3);
                int z4 = pairOf(kx, k16 + o2, k17 + o2), z5 = pairOf(kx, k16 + o3, k17 + o3);
                int z6 = pairOf(kx, k24 + o2, k25 + o2), z7 = pairOf(kx, k24 + o3, k25 + o3);
                int buf = ((ks / 2) % 2) * 2048, at = buf + wAt;
                bT[at] = w0;
                bT[at + 32] = w1;
                bT[at + 64] = w2;
                bT[at + 96] = w3;
                bT[at + 128] = w4;
                bT[at + 160] = w5;
                bT[at + 192] = w6;
                bT[at + 224] = w7;
                bT[at + 1024] = z0;
                bT[at + 1056] = z1;
                bT[at + 1088] = z2;
                bT[at + 1120] = z3;
                bT[at + 1152] = z4;
                bT[at + 1184] = z5;
                bT[at + 1216] = z6;
                bT[at + 1248] = z7;
                ctx.localBarrier();
                int bAt = 4 * buf + warp * 1024;
                HalfFloat[] a = ctx.mmaLoadA(qT, 16, ks * 512);
                s0 = ctx.mma(a, ctx.mmaLoadB(bT, 16, bAt), s0, MMAShape.M16N8K16);
                s1 = ctx.mma(a, ctx.mmaLoadB(bT, 16, bAt + 256), s1, MMAShape.M16N8K16);
                s2 = ctx.mma(a, ctx.mmaLoadB(bT, 16, bAt + 512), s2, MMAShape.M16N8K16);
                s3 = ctx.mma(a, ctx.mmaLoadB(bT, 16, bAt + 768), s3, MMAShape.M16N8K16);
                HalfFloat[] a1 = ctx.mmaLoadA(qT, 16, ks * 512 + 512);
                s0 = ctx.mma(a1, ctx.mmaLoadB(bT, 16, bAt + 4096), s0, MMAShape.M16N8K16);
                s1 = ctx.mma(a1, ctx.mmaLoadB(bT, 16, bAt + 4352), s1, MMAShape.M16N8K16);
                s2 = ctx.mma(a1, ctx.mmaLoadB(bT, 16, bAt + 4608), s2, MMAShape.M16N8K16);
                s3 = ctx.mma(a1, ctx.mmaLoadB(bT, 16, bAt + 4864), s3, MMAShape.M16N8K16);
            }
            ctx.mmaStore(s0, scratch, ctx.groupIdx * SLOTS, WARP_COLS * warp, LOCAL);
            ctx.mmaStore(s1, scratch, ctx.groupIdx * SLOTS, WARP_COLS * warp + 8, LOCAL);
            ctx.mmaStore(s2, scratch, ctx.groupIdx * SLOTS, WARP_COLS * warp + 16, LOCAL);
            ctx.mmaStore(s3, scratch, ctx.groupIdx * SLOTS, WARP_COLS * warp + 24, LOCAL);
            ctx.localBarrier();
            // Thread lid's key against every slot's mask: eight loads, then eight local stores (as the operands' above).
            float none = Float.NEGATIVE_INFINITY;
            int kp0 = kpos[lid];
            for (int s = 0; s < SLOTS; s += 8) {
                int at = region + s * LOCAL + lid;
                float l0 = scratch.get(at), l1 = scratch.get(at + LOCAL), l2 = scratch.get(at + 2 * LOCAL), l3 = scratch.get(at + 3 * LOCAL);
                float l4 = scratch.get(at + 4 * LOCAL), l5 = scratch.get(at + 5 * LOCAL), l6 = scratch.get(at + 6 * LOCAL), l7 = scratch.get(at + 7 * LOCAL);
                pr[s * LOCAL + lid] = masked(l0, kp0, lim[s], lim[SLOTS + s]);
                pr[(s + 1) * LOCAL + lid] = masked(l1, kp0, lim[s + 1], lim[SLOTS + s + 1]);
                pr[(s + 2) * LOCAL + lid] = masked(l2, kp0, lim[s + 2], lim[SLOTS + s + 2]);
                pr[(s + 3) * LOCAL + lid] = masked(l3, kp0, lim[s + 3], lim[SLOTS + s + 3]);
                pr[(s + 4) * LOCAL + lid] = masked(l4, kp0, lim[s + 4], lim[SLOTS + s + 4]);
                pr[(s + 5) * LOCAL + lid] = masked(l5, kp0, lim[s + 5], lim[SLOTS + s + 5]);
                pr[(s + 6) * LOCAL + lid] = masked(l6, kp0, lim[s + 6], lim[SLOTS + s + 6]);
                pr[(s + 7) * LOCAL + lid] = masked(l7, kp0, lim[s + 7], lim[SLOTS + s + 7]);
            }
            ctx.localBarrier();
            // The chunk's softmax and the oracle's segment statistics: attendTile's.
            float cmax = none;
            for (int k = 0; k < PART_KEYS; k++) cmax = TornadoMath.max(cmax, pr[ms * LOCAL + kp + k]);
            part[lid] = cmax;
            ctx.localBarrier();
            for (int k = 0; k < PARTS; k++) cmax = TornadoMath.max(cmax, part[ms * PARTS + k]);
            float ref = reference(st[ms], cmax), sum = 0f, peak = 0f;
            for (int k = 0; k < PART_KEYS; k++) {
                float logit = pr[ms * LOCAL + kp + k];
                float x = logit == none ? 0f : TornadoMath.exp(logit - ref);
                pr[ms * LOCAL + kp + k] = x;
                sum += x;
                peak = TornadoMath.max(peak, x);
            }
            ctx.localBarrier();
            part[lid] = sum;
            top[lid] = peak;
            if (lid % PARTS == 0) {
                st[2 * SLOTS + ms] = cmax;
                st[4 * SLOTS + ms] = ref;
            }
            ctx.localBarrier();
            for (int s = 0; oracle && s < SLOTS; s++) {
                if (lid < LOCAL / seg && s / hs < rows && s % hs < heads && i0 + lid * seg < keys) {
                    float segSum = 0f, segTop = 0f;
                    for (int k = 0; k < pps; k++) {
                        segSum += part[s * PARTS + lid * pps + k];
                        segTop = TornadoMath.max(segTop, top[s * PARTS + lid * pps + k]);
                    }
                    int at = (((r0 + s / hs) * hq + x0 + s % hs) * p.get(CHUNK_STRIDE) + (c0 * b + i0) / seg + lid) * STAT;
                    stats.set(at, st[4 * SLOTS + s]);
                    stats.set(at + 1, segSum);
                    stats.set(at + 2, segTop);
                }
            }
            if (lid < SLOTS) {
                float chunkSum = 0f;
                for (int k = 0; k < PARTS; k++) chunkSum += part[lid * PARTS + k];
                float f = rescale(st[lid], st[2 * SLOTS + lid]);
                st[3 * SLOTS + lid] = f;
                st[SLOTS + lid] = st[SLOTS + lid] * f + chunkSum;
                st[lid] = TornadoMath.max(st[lid], st[2 * SLOTS + lid]);
            }
            // P as half pairs: word c of row s in step ks holds keys 16 ks + 2c and + 1 of slot s.
            for (int w = lid; w < SLOTS * LOCAL / 2; w += LOCAL) {
                int s = (w / 8) % 16, key = 16 * (w / 128) + 2 * (w % 8);
                float lo = pr[s * LOCAL + key], hi = pr[s * LOCAL + key + 1];
                pT[w] = (new HalfFloat(lo).getHalfFloatValue() & 0xffff) | ((new HalfFloat(hi).getHalfFloatValue() & 0xffff) << 16);
            }
            ctx.localBarrier();
            // Values: warp w's dimensions 32 w .. 32 w + 31 (warps past D idle), 16 keys a step. Word np of B row kk holds
            // dimensions 2 np and 2 np + 1 of key 16 ks + kk; keys past the chunk's end are zeros, not the buffer's
            // contents (a ring slot not yet written may hold anything, and 0 * NaN would poison the sum).
            int n = TornadoMath.min(LOCAL, keys - i0);
            float[] o0 = ctx.mmaFragment(0f);
            float[] o1 = ctx.mmaFragment(0f);
            float[] o2 = ctx.mmaFragment(0f);
            float[] o3 = ctx.mmaFragment(0f);
            // Two steps of 16 keys a round, as the keys'. Lane word w = lane + 32 j: dimensions eb + 8 (j / 2) and + 1 of key
            // 16 ks + lane / 4 + 8 (j % 2). A warp's dimensions are all within D or all past it (D a multiple of 32); a
            // round's second step past the chunk's keys multiplies zeros.
            boolean dims = WARP_COLS * warp < d;
            int eb = 2 * TornadoMath.min(WARP_COLS * warp + 2 * (lane % 4), d - 32 + 2 * (lane % 4));
            for (int ks = 0; ks < (n + 15) / 16; ks += 2) {
                int key = 16 * ks + lane / 4;
                boolean live0 = dims && key < n, live1 = dims && key + 8 < n, live2 = dims && key + 16 < n, live3 = dims && key + 24 < n;
                int v0 = vrow[key] + eb, v1 = vrow[key + 8] + eb, v2 = vrow[key + 16] + eb, v3 = vrow[key + 24] + eb;
                int w0 = pairOf(vx, v0, v0 + 2), w1 = pairOf(vx, v1, v1 + 2);
                int w2 = pairOf(vx, v0 + 16, v0 + 18), w3 = pairOf(vx, v1 + 16, v1 + 18);
                int w4 = pairOf(vx, v0 + 32, v0 + 34), w5 = pairOf(vx, v1 + 32, v1 + 34);
                int w6 = pairOf(vx, v0 + 48, v0 + 50), w7 = pairOf(vx, v1 + 48, v1 + 50);
                int z0 = pairOf(vx, v2, v2 + 2), z1 = pairOf(vx, v3, v3 + 2);
                int z2 = pairOf(vx, v2 + 16, v2 + 18), z3 = pairOf(vx, v3 + 16, v3 + 18);
                int z4 = pairOf(vx, v2 + 32, v2 + 34), z5 = pairOf(vx, v3 + 32, v3 + 34);
                int z6 = pairOf(vx, v2 + 48, v2 + 50), z7 = pairOf(vx, v3 + 48, v3 + 50);
                int buf = ((ks / 2) % 2) * 2048, at = buf + wAt;
                bT[at] = live0 ? w0 : 0;
                bT[at + 32] = live1 ? w1 : 0;
                bT[at + 64] = live0 ? w2 : 0;
                bT[at + 96] = live1 ? w3 : 0;
                bT[at + 128] = live0 ? w4 : 0;
                bT[at + 160] = live1 ? w5 : 0;
                bT[at + 192] = live0 ? w6 : 0;
                bT[at + 224] = live1 ? w7 : 0;
                bT[at + 1024] = live2 ? z0 : 0;
                bT[at + 1056] = live3 ? z1 : 0;
                bT[at + 1088] = live2 ? z2 : 0;
                bT[at + 1120] = live3 ? z3 : 0;
                bT[at + 1152] = live2 ? z4 : 0;
                bT[at + 1184] = live3 ? z5 : 0;
                bT[at + 1216] = live2 ? z6 : 0;
                bT[at + 1248] = live3 ? z7 : 0;
                ctx.localBarrier();
                int bAt = 4 * buf + warp * 1024;
                HalfFloat[] a = ctx.mmaLoadA(pT, 16, ks * 512);
                o0 = ctx.mma(a, ctx.mmaLoadB(bT, 16, bAt), o0, MMAShape.M16N8K16);
                o1 = ctx.mma(a, ctx.mmaLoadB(bT, 16, bAt + 256), o1, MMAShape.M16N8K16);
                o2 = ctx.mma(a, ctx.mmaLoadB(bT, 16, bAt + 512), o2, MMAShape.M16N8K16);
                o3 = ctx.mma(a, ctx.mmaLoadB(bT, 16, bAt + 768), o3, MMAShape.M16N8K16);
                HalfFloat[] a1 = ctx.mmaLoadA(pT, 16, ks * 512 + 512);
                o0 = ctx.mma(a1, ctx.mmaLoadB(bT, 16, bAt + 4096), o0, MMAShape.M16N8K16);
                o1 = ctx.mma(a1, ctx.mmaLoadB(bT, 16, bAt + 4352), o1, MMAShape.M16N8K16);
                o2 = ctx.mma(a1, ctx.mmaLoadB(bT, 16, bAt + 4608), o2, MMAShape.M16N8K16);
                o3 = ctx.mma(a1, ctx.mmaLoadB(bT, 16, bAt + 4864), o3, MMAShape.M16N8K16);
            }
            ctx.mmaStore(o0, scratch, ctx.groupIdx * SLOTS, WARP_COLS * warp, LOCAL);
            ctx.mmaStore(o1, scratch, ctx.groupIdx * SLOTS, WARP_COLS * warp + 8, LOCAL);
            ctx.mmaStore(o2, scratch, ctx.groupIdx * SLOTS, WARP_COLS * warp + 16, LOCAL);
            ctx.mmaStore(o3, scratch, ctx.groupIdx * SLOTS, WARP_COLS * warp + 24, LOCAL);
            ctx.localBarrier();
            // Eight loads, then eight local updates (as above).
            for (int s = 0; lid < d && s < SLOTS; s += 8) {
                int at = region + s * LOCAL + lid, to = s * DMMA + lid;
                float u0 = scratch.get(at), u1 = scratch.get(at + LOCAL), u2 = scratch.get(at + 2 * LOCAL), u3 = scratch.get(at + 3 * LOCAL);
                float u4 = scratch.get(at + 4 * LOCAL), u5 = scratch.get(at + 5 * LOCAL), u6 = scratch.get(at + 6 * LOCAL), u7 = scratch.get(at + 7 * LOCAL);
                acc[to] = acc[to] * st[3 * SLOTS + s] + u0;
                acc[to + DMMA] = acc[to + DMMA] * st[3 * SLOTS + s + 1] + u1;
                acc[to + 2 * DMMA] = acc[to + 2 * DMMA] * st[3 * SLOTS + s + 2] + u2;
                acc[to + 3 * DMMA] = acc[to + 3 * DMMA] * st[3 * SLOTS + s + 3] + u3;
                acc[to + 4 * DMMA] = acc[to + 4 * DMMA] * st[3 * SLOTS + s + 4] + u4;
                acc[to + 5 * DMMA] = acc[to + 5 * DMMA] * st[3 * SLOTS + s + 5] + u5;
                acc[to + 6 * DMMA] = acc[to + 6 * DMMA] * st[3 * SLOTS + s + 6] + u6;
                acc[to + 7 * DMMA] = acc[to + 7 * DMMA] * st[3 * SLOTS + s + 7] + u7;
            }
            ctx.localBarrier();
        }
        for (int s = 0; s < SLOTS; s++) {
            if (s / hs < rows && s % hs < heads) {
                int at = (((r0 + s / hs) * hq + x0 + s % hs) * per + sp) * (d + 2);
                if (lid == 0) {
                    partial.set(at, st[s]);
                    partial.set(at + 1, st[SLOTS + s]);
                }
                if (lid < d) partial.set(at + 2 + lid, acc[s * DMMA + lid]);
            }
        }
    }

    /** Halves {@code i} (low) and {@code j} (high) of {@code a} as one packed operand word. */
    private static int pairOf(HalfFloatArray a, int i, int j) {
        return (a.get(i).getHalfFloatValue() & 0xffff) | ((a.get(j).getHalfFloatValue() & 0xffff) << 16);
    }

    /** A logit, or minus infinity where key position {@code pos} (-1: past the chunk) is outside {@code [lo, hi]}. */
    private static float masked(float logit, int pos, int lo, int hi) {
        return pos >= 0 && pos >= lo && pos <= hi ? logit : Float.NEGATIVE_INFINITY;
    }
}
