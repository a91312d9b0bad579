package org.hysparse.backend.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The device kernels. One work-group of {@link #LOCAL} threads per query vector (row x head) for the
 * attention kernels; one thread per output element or per (KV head, query block) for the small ones.
 * Sizes arrive in an {@link IntArray} of parameters so that one compiled kernel serves every shape.
 * A KV row {@code (t, h)} starts at element {@code (t / L) * pageStride + (h * L + t % L) * rowStride}: with L = B
 * that is the paged full cache (rowStride = D rounded up to even, so that a row of 16-bit values starts on a
 * 32-bit word); with L = capacity and pageStride = 0, the window ring (floats, rowStride = D).
 * <p>The full cache is stored in its own precision: float32 in a {@link FloatArray}, float16 and bfloat16 as
 * raw bits, two to an {@link IntArray} word, decoded by {@link #load} with exact arithmetic (a power-of-two
 * table in {@code consts}). TornadoVM 5.2's OpenCL code generator cannot reinterpret bits
 * ({@code Float.intBitsToFloat}), and its {@code HalfFloatArray} needs {@code cl_khr_fp16}, which neither PoCL
 * nor NVIDIA's OpenCL driver offers. Every kernel takes both arrays; {@code MBITS} (mantissa bits: 0 for
 * float32, 10 for float16, 7 for bfloat16) says which one holds the cache, and the other is a 1-element stand-in.
 * <p>Every local-memory array is allocated and indexed inside one helper ({@link #reduceMax},
 * {@link #reduceSum}, {@link #weighted}): TornadoVM 5.2 mis-indexes a local array handed to another
 * method. Per-thread state (running max and sum, the accumulators of dimensions lid and lid + 128)
 * stays in registers in the kernel bodies, which repeat the few lines of the online-softmax update.
 * Kernel names avoid OpenCL built-ins ({@code select} is one): the generated program would not build.
 */
final class Kernels {
    static final int LOCAL = 128;
    // Parameter slots.
    static final int ROWS = 0, HQ = 1, HKV = 2, DIM = 3, BLOCK = 4, QBLOCK = 5, TOKENS = 6, NB_STRIDE = 7, FIRST_QB = 8,
            NQB = 9, WINDOW = 10, RING = 11, CHUNK_STRIDE = 12, SINK = 13, LOCAL_BLOCKS = 14, BUDGET = 15, SEL_STRIDE = 16,
            STAGE_FIRST = 17, STAGE_TOKENS = 18, SPLITS = 19, MBITS = 20, ROW = 21, PAGE = 22, PARAMS = 23;
    /** {@code consts}: the scale at 0, then 2^(max(e, 1) - bias) for each exponent e, then 2^-MBITS. */
    static final int TABLE = 1, MANTISSA_SCALE = TABLE + 256, CONSTS = MANTISSA_SCALE + 1;

    private Kernels() {
    }

    /**
     * Writes staged rows into the resident cache: {@code STAGE_TOKENS} tokens from {@code STAGE_FIRST}, laid out
     * {@code [token][kvHead][rowStride]} in the staging arrays (floats, or 16-bit pairs in words). The rest of the
     * cache stays on the device from earlier calls.
     */
    static void appendRows(KernelContext ctx, FloatArray newKf, FloatArray newVf, IntArray newKh, IntArray newVh, IntArray p,
                           FloatArray kf, FloatArray vf, IntArray kh, IntArray vh) {
        int i = ctx.globalIdx;
        int mbits = p.get(MBITS), hkv = p.get(HKV), b = p.get(BLOCK), row = p.get(ROW);
        int units = mbits == 0 ? row : row / 2;
        if (i < p.get(STAGE_TOKENS) * hkv * units) {
            int r = i / units, e = i % units;
            int t = p.get(STAGE_FIRST) + r / hkv, h = r % hkv;
            int at = (t / b) * p.get(PAGE) + (h * b + t % b) * row;
            if (mbits == 0) {
                kf.set(at + e, newKf.get(i));
                vf.set(at + e, newVf.get(i));
            } else {
                kh.set(at / 2 + e, newKh.get(i));
                vh.set(at / 2 + e, newVh.get(i));
            }
        }
    }

    /**
     * Element i of a cache: a float, or the float16 / bfloat16 bits at half-word i decoded exactly as
     * (implicit bit + mantissa) * 2^-MBITS * 2^(exponent - bias). Both products are exact for every finite value.
     */
    static float load(FloatArray f, IntArray h, FloatArray consts, int i, int mbits) {
        float r;
        if (mbits == 0) {
            r = f.get(i);
        } else {
            int bits = (h.get(i >> 1) >>> ((i & 1) << 4)) & 0xffff;
            int e = (bits & 0x7fff) >>> mbits;
            int m = bits & ((1 << mbits) - 1);
            float mag = (float) (e == 0 ? m : m + (1 << mbits)) * consts.get(MANTISSA_SCALE) * consts.get(TABLE + e);
            r = (bits & 0x8000) != 0 ? -mag : mag;
        }
        return r;
    }

    /**
     * SPEC 1, split-K: work-group {@code x * splits + sp} runs the online softmax of query vector x over its
     * share of the visible blocks and leaves a partial (max, sum, accumulator) plus per-chunk statistics;
     * {@link #mergeSplits} combines them. Many work-groups per query vector keep a large GPU busy in decode.
     */
    static void attendOracle(KernelContext ctx, FloatArray q, FloatArray kf, FloatArray vf, IntArray kh, IntArray vh, IntArray pos, IntArray p,
                             FloatArray consts, FloatArray partial, FloatArray stats) {
        int splits = p.get(SPLITS);
        int x = ctx.groupIdx / splits, sp = ctx.groupIdx % splits;
        int lid = ctx.localIdx;
        int hq = p.get(HQ), hkv = p.get(HKV), d = p.get(DIM), b = p.get(BLOCK);
        int h = (x % hq) / (hq / hkv);
        int last = pos.get(x / hq);
        float sc = consts.get(0);
        int mbits = p.get(MBITS), row = p.get(ROW), pageStride = p.get(PAGE);
        float m = Float.NEGATIVE_INFINITY, l = 0f, acc0 = 0f, acc1 = 0f;
        // Chunk (j, c) covers positions j*B + c*LOCAL onward, never crossing a block: its stats sit at slot j*cpb + c.
        int cpb = (b + LOCAL - 1) / LOCAL;
        int stride = p.get(CHUNK_STRIDE);
        int visible = last / b + 1;
        int per = (visible + splits - 1) / splits;
        for (int j = sp * per; j < TornadoMath.min(visible, (sp + 1) * per); j++) {
            for (int c = 0; c < cpb && j * b + c * LOCAL <= last; c++) {
                int t0 = j * b + c * LOCAL;
                int n = TornadoMath.min(TornadoMath.min(LOCAL, b - c * LOCAL), last + 1 - t0);
                float logit = logit(q, kf, kh, consts, x, t0 + lid, lid < n, 0, last, b, pageStride, row, h, d, mbits, sc);
                float mNew = TornadoMath.max(m, reduceMax(ctx, logit, lid));
                float ref = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
                float pr = logit == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(logit - ref);
                float sum = reduceSum(ctx, pr, lid);
                float alpha = m == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(m - ref);
                acc0 = acc0 * alpha + weighted(ctx, pr, vf, vh, consts, t0, n, b, pageStride, row, h, d, mbits, lid, lid);
                acc1 = acc1 * alpha + weighted(ctx, pr, vf, vh, consts, t0, n, b, pageStride, row, h, d, mbits, lid, lid + LOCAL);
                l = l * alpha + sum;
                m = mNew;
                if (lid == 0) {
                    stats.set((x * stride + j * cpb + c) * 2, ref);
                    stats.set((x * stride + j * cpb + c) * 2 + 1, sum);
                }
            }
        }
        // Partial state of this split: [m, l, acc[0..D)] at (x * splits + sp) * (D + 2).
        int at = (x * splits + sp) * (d + 2);
        if (lid == 0) {
            partial.set(at, m);
            partial.set(at + 1, l);
        }
        if (lid < d) partial.set(at + 2 + lid, acc0);
        if (lid + LOCAL < d) partial.set(at + 2 + lid + LOCAL, acc1);
    }

    /**
     * Combines the splits of query vector x (global max M, sum L = sum l_s e^(m_s - M)), writes the output,
     * and the mass of every block from the chunk statistics under the final log-sum-exp.
     */
    static void mergeSplits(KernelContext ctx, FloatArray partial, FloatArray stats, IntArray pos, IntArray p, FloatArray out, FloatArray masses) {
        int x = ctx.groupIdx;
        int lid = ctx.localIdx;
        int splits = p.get(SPLITS), hq = p.get(HQ), d = p.get(DIM), b = p.get(BLOCK);
        int last = pos.get(x / hq);
        float m = Float.NEGATIVE_INFINITY;
        for (int sp = 0; sp < splits; sp++) m = TornadoMath.max(m, partial.get((x * splits + sp) * (d + 2)));
        float l = 0f, acc0 = 0f, acc1 = 0f;
        for (int sp = 0; sp < splits; sp++) {
            int at = (x * splits + sp) * (d + 2);
            float ms = partial.get(at);
            if (ms != Float.NEGATIVE_INFINITY) {
                float f = TornadoMath.exp(ms - m);
                l += partial.get(at + 1) * f;
                if (lid < d) acc0 += partial.get(at + 2 + lid) * f;
                if (lid + LOCAL < d) acc1 += partial.get(at + 2 + lid + LOCAL) * f;
            }
        }
        store(out, x, d, lid, acc0, acc1, l > 0f ? 1f / l : 0f, false);
        int cpb = (b + LOCAL - 1) / LOCAL;
        int stride = p.get(CHUNK_STRIDE), nbStride = p.get(NB_STRIDE);
        int nb = (p.get(TOKENS) + b - 1) / b;
        for (int j = lid; j < nb; j += LOCAL) {
            float mass = 0f;
            for (int c = 0; c < cpb && j * b + c * LOCAL <= last; c++) {
                float sum = stats.get((x * stride + j * cpb + c) * 2 + 1);
                if (sum > 0f) mass += sum * TornadoMath.exp(stats.get((x * stride + j * cpb + c) * 2) - m) / l;
            }
            masses.set(x * nbStride + j, mass);
        }
    }

    /** S[h][qb][j]: the largest mass any row of query block qb and any head of KV head h's group puts on block j. */
    static void blockScores(KernelContext ctx, FloatArray masses, IntArray rowStart, IntArray p, FloatArray s) {
        int id = ctx.globalIdx;
        int hq = p.get(HQ), hkv = p.get(HKV), nqb = p.get(NQB), nbStride = p.get(NB_STRIDE);
        int nb = (p.get(TOKENS) + p.get(BLOCK) - 1) / p.get(BLOCK);
        if (id < hkv * nqb * nb) {
            int j = id % nb, qb = (id / nb) % nqb, h = id / nb / nqb;
            int group = hq / hkv;
            float best = 0f;
            for (int i = rowStart.get(qb); i < rowStart.get(qb + 1); i++) {
                for (int gg = 0; gg < group; gg++) best = TornadoMath.max(best, masses.get((i * hq + h * group + gg) * nbStride + j));
            }
            s.set(id, best);
        }
    }

    /**
     * SPEC 2's ranking for one (KV head, query block), the O(k * nb) part: forced blocks first, then up to
     * the budget the best unflagged block by (S descending, index ascending), in order of choice. The host
     * applies a mass target to this order (in doubles, as the reference does) and sorts the result.
     */
    static void rankBlocks(KernelContext ctx, FloatArray s, IntArray visibleBlocks, IntArray p, IntArray flags, IntArray sel, IntArray count) {
        int id = ctx.globalIdx;
        int hkv = p.get(HKV), nqb = p.get(NQB), nb = p.get(NB_STRIDE), cap = p.get(SEL_STRIDE);
        if (id < hkv * nqb) {
            int visible = visibleBlocks.get(id % nqb);
            int budget = TornadoMath.min(p.get(BUDGET), visible);
            int base = id * nb, out = id * cap;
            for (int j = 0; j < visible; j++) flags.set(base + j, 0);
            int n = 0;
            if (p.get(SINK) == 1 && visible > 0 && n < budget) {
                flags.set(base, 1);
                sel.set(out, 0);
                n++;
            }
            for (int l = 0; l < p.get(LOCAL_BLOCKS) && visible - 1 - l >= 0 && n < budget; l++) {
                if (flags.get(base + visible - 1 - l) == 0) {
                    flags.set(base + visible - 1 - l, 1);
                    sel.set(out + n, visible - 1 - l);
                    n++;
                }
            }
            // A counted loop: a while loop on a boolean did not survive TornadoVM 5.2's compilation.
            int forced = n;
            for (int r = forced; r < budget; r++) {
                int best = -1;
                float bestS = -1f;
                for (int j = 0; j < visible; j++) {
                    float sj = s.get(base + j);
                    if (flags.get(base + j) == 0 && sj > bestS) {
                        best = j;
                        bestS = sj;
                    }
                }
                flags.set(base + best, 1);
                sel.set(out + r, best);
            }
            count.set(id, budget);
        }
    }

    /** SPEC 3: attention over the selected blocks of the shared cache and over the window ring, gated. */
    static void attendSparse(KernelContext ctx, FloatArray q, FloatArray kf, FloatArray vf, IntArray kh, IntArray vh, FloatArray kw, FloatArray vw,
                             IntArray pos, IntArray p, FloatArray consts, IntArray sel, IntArray count, FloatArray gates, FloatArray out) {
        int x = ctx.groupIdx;
        int lid = ctx.localIdx;
        int hq = p.get(HQ), hkv = p.get(HKV), d = p.get(DIM), b = p.get(BLOCK);
        int h = (x % hq) / (hq / hkv);
        int last = pos.get(x / hq);
        int list = h * p.get(NQB) + last / p.get(QBLOCK) - p.get(FIRST_QB);
        float sc = consts.get(0);
        int mbits = p.get(MBITS), row = p.get(ROW), pageStride = p.get(PAGE);
        float m = Float.NEGATIVE_INFINITY, l = 0f, acc0 = 0f, acc1 = 0f;
        for (int c = 0; c < count.get(list); c++) {
            int j = sel.get(list * p.get(SEL_STRIDE) + c);
            int end = TornadoMath.min((j + 1) * b, last + 1);
            for (int t0 = j * b; t0 < end; t0 += LOCAL) {
                int n = TornadoMath.min(LOCAL, end - t0);
                float logit = logit(q, kf, kh, consts, x, t0 + lid, lid < n, 0, last, b, pageStride, row, h, d, mbits, sc);
                float mNew = TornadoMath.max(m, reduceMax(ctx, logit, lid));
                float ref = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
                float pr = logit == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(logit - ref);
                float sum = reduceSum(ctx, pr, lid);
                float alpha = m == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(m - ref);
                acc0 = acc0 * alpha + weighted(ctx, pr, vf, vh, consts, t0, n, b, pageStride, row, h, d, mbits, lid, lid);
                acc1 = acc1 * alpha + weighted(ctx, pr, vf, vh, consts, t0, n, b, pageStride, row, h, d, mbits, lid, lid + LOCAL);
                l = l * alpha + sum;
                m = mNew;
            }
        }
        store(out, x, d, lid, acc0, acc1, l > 0f ? gates.get(x * 2) / l : 0f, false);
        int w = p.get(WINDOW);
        if (w > 0) {
            int ring = p.get(RING);
            m = Float.NEGATIVE_INFINITY;
            l = 0f;
            acc0 = 0f;
            acc1 = 0f;
            int from = TornadoMath.max(0, last - w + 1);
            int t0 = from;
            while (t0 <= last) {
                // Chunks stop where the ring wraps, so each chunk is contiguous in the ring.
                int n = TornadoMath.min(TornadoMath.min(LOCAL, last + 1 - t0), ring - t0 % ring);
                float logit = logit(q, kw, kh, consts, x, t0 + lid, lid < n, from, last, ring, 0, d, h, d, 0, sc);
                float mNew = TornadoMath.max(m, reduceMax(ctx, logit, lid));
                float ref = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
                float pr = logit == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(logit - ref);
                float sum = reduceSum(ctx, pr, lid);
                float alpha = m == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(m - ref);
                acc0 = acc0 * alpha + weighted(ctx, pr, vw, vh, consts, t0, n, ring, 0, d, h, d, 0, lid, lid);
                acc1 = acc1 * alpha + weighted(ctx, pr, vw, vh, consts, t0, n, ring, 0, d, h, d, 0, lid, lid + LOCAL);
                l = l * alpha + sum;
                m = mNew;
                t0 += n;
            }
            store(out, x, d, lid, acc0, acc1, l > 0f ? gates.get(x * 2 + 1) / l : 0f, true);
        }
    }

    /** Scaled logit of query vector x at position t, or -inf where t is not visible. */
    private static float logit(FloatArray q, FloatArray kf, IntArray kh, FloatArray consts, int x, int t, boolean inChunk, int lo, int hi,
                               int pageLen, int pageStride, int row, int h, int d, int mbits, float scale) {
        float dot = Float.NEGATIVE_INFINITY;
        if (inChunk && t >= lo && t <= hi) {
            int base = (t / pageLen) * pageStride + (h * pageLen + t % pageLen) * row;
            dot = 0f;
            for (int e = 0; e < d; e++) dot += q.get(x * d + e) * load(kf, kh, consts, base + e, mbits);
            dot = dot * scale;
        }
        return dot;
    }

    private static float reduceMax(KernelContext ctx, float value, int lid) {
        float[] red = ctx.allocateFloatLocalArray(128);
        red[lid] = value;
        ctx.localBarrier();
        for (int s = LOCAL / 2; s > 0; s >>= 1) {
            if (lid < s) red[lid] = TornadoMath.max(red[lid], red[lid + s]);
            ctx.localBarrier();
        }
        float r = red[0];
        ctx.localBarrier();
        return r;
    }

    private static float reduceSum(KernelContext ctx, float value, int lid) {
        float[] red = ctx.allocateFloatLocalArray(128);
        red[lid] = value;
        ctx.localBarrier();
        for (int s = LOCAL / 2; s > 0; s >>= 1) {
            if (lid < s) red[lid] = red[lid] + red[lid + s];
            ctx.localBarrier();
        }
        float r = red[0];
        ctx.localBarrier();
        return r;
    }

    /** {@code sum over the chunk of p_t * v[t][dim]}: each thread shares its p_t, then sums for its dimension. */
    private static float weighted(KernelContext ctx, float pr, FloatArray vf, IntArray vh, FloatArray consts, int t0, int n, int pageLen,
                                  int pageStride, int row, int h, int d, int mbits, int lid, int dim) {
        float[] pl = ctx.allocateFloatLocalArray(128);
        pl[lid] = pr;
        ctx.localBarrier();
        float a = 0f;
        if (dim < d) {
            for (int tt = 0; tt < n; tt++) {
                int t = t0 + tt;
                a += pl[tt] * load(vf, vh, consts, (t / pageLen) * pageStride + (h * pageLen + t % pageLen) * row + dim, mbits);
            }
        }
        ctx.localBarrier();
        return a;
    }

    /** Writes {@code f * acc} for dimensions lid and lid + LOCAL, adding to what is there when asked. */
    private static void store(FloatArray out, int x, int d, int lid, float acc0, float acc1, float f, boolean add) {
        if (lid < d) out.set(x * d + lid, (add ? out.get(x * d + lid) : 0f) + f * acc0);
        if (lid + LOCAL < d) out.set(x * d + lid + LOCAL, (add ? out.get(x * d + lid + LOCAL) : 0f) + f * acc1);
    }
}
