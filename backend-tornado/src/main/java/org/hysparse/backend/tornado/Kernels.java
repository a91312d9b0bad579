package org.hysparse.backend.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The device kernels. One work-group of {@link #LOCAL} threads per query vector (row x head) for the
 * attention kernels; one thread per output element or per (KV head, query block) for the small ones.
 * Sizes arrive in an {@link IntArray} of parameters so that one compiled kernel serves every shape.
 * The full cache is paged: a V row {@code (t, h)} starts at element {@code (t / B) * PAGE + (h * B + t % B) * ROW}
 * (ROW = D rounded up to even, so that a row of 16-bit values starts on a 32-bit word), and K is transposed,
 * element e of key {@code (t, h)} at {@code (t / B) * KPAGE + (h * D + e) * B + t % B}, so that the threads of a
 * chunk, one key each, read neighbouring addresses (B is a power of two, so 16-bit slot pairs share a word). The window ring is floats,
 * row {@code (t, h)} at {@code (h * capacity + t % capacity) * D}.
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
            STAGE_FIRST = 17, STAGE_TOKENS = 18, SPLITS = 19, MBITS = 20, ROW = 21, PAGE = 22, KPAGE = 23, PARAMS = 24;
    /** {@code consts}: the scale at 0, then 2^(max(e, 1) - bias) for each exponent e, then 2^-MBITS. */
    static final int TABLE = 1, MANTISSA_SCALE = TABLE + 256, CONSTS = MANTISSA_SCALE + 1;

    private Kernels() {
    }

    /**
     * Writes staged rows into the resident cache: {@code STAGE_TOKENS} tokens from {@code STAGE_FIRST}, laid out
     * {@code [token][kvHead][ROW]} in the staging arrays (floats, or 16-bit pairs in words). V keeps that row
     * layout; K is stored transposed (see the class comment). Two 16-bit K values of neighbouring slots share a
     * word: the thread of the even slot (or of the run's first token) writes the word, keeping the half of a
     * token outside this run. The rest of the cache stays on the device from earlier calls.
     */
    static void appendRows(KernelContext ctx, FloatArray newKf, FloatArray newVf, IntArray newKh, IntArray newVh, IntArray p,
                           FloatArray kf, FloatArray vf, IntArray kh, IntArray vh) {
        int i = ctx.globalIdx;
        int mbits = p.get(MBITS), hkv = p.get(HKV), b = p.get(BLOCK), row = p.get(ROW), d = p.get(DIM);
        int first = p.get(STAGE_FIRST), n = p.get(STAGE_TOKENS);
        int units = mbits == 0 ? row : row / 2;
        if (i < n * hkv * units) {
            int r = i / units, e = i % units;
            int t = first + r / hkv, h = r % hkv;
            int at = (t / b) * p.get(PAGE) + (h * b + t % b) * row;
            if (mbits == 0) {
                vf.set(at + e, newVf.get(i));
            } else {
                vh.set(at / 2 + e, newVh.get(i));
            }
        }
        if (i < n * hkv * d) {
            int r = i / d, e = i % d;
            int t = first + r / hkv, h = r % hkv, s = t % b;
            int at = (t / b) * p.get(KPAGE) + (h * d + e) * b + s;
            if (mbits == 0) {
                kf.set(at, newKf.get(r * row + e));
            } else if (s % 2 == 0 || t == first) {
                int even = t - s % 2;
                int word = kh.get(at / 2);
                int lo = even >= first ? staged(newKh, ((even - first) * hkv + h) * row + e) : word & 0xffff;
                int hi = even + 1 < first + n ? staged(newKh, ((even + 1 - first) * hkv + h) * row + e) : word >>> 16;
                kh.set(at / 2, (hi << 16) | lo);
            }
        }
    }

    /** The 16-bit value at half-word i of a staging array. */
    private static int staged(IntArray words, int i) {
        return (words.get(i >> 1) >>> ((i & 1) << 4)) & 0xffff;
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
        int mbits = p.get(MBITS), row = p.get(ROW), pageStride = p.get(PAGE), kPage = p.get(KPAGE);
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
                float logit = logit(q, kf, kh, consts, x, lid < n, (t0 / b) * kPage + h * d * b + t0 % b + lid, b, d, mbits, sc);
                float mNew = TornadoMath.max(m, reduceMax(ctx, logit, lid));
                float ref = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
                float pr = logit == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(logit - ref);
                float sum = reduceSum(ctx, pr, lid);
                float alpha = m == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(m - ref);
                int base = (t0 / b) * pageStride + (h * b + t0 % b) * row;
                acc0 = acc0 * alpha + weighted(ctx, pr, vf, vh, consts, base, n, row, d, mbits, lid, lid);
                if (d > LOCAL) acc1 = acc1 * alpha + weighted(ctx, pr, vf, vh, consts, base, n, row, d, mbits, lid, lid + LOCAL);
                l = l * alpha + sum;
                m = mNew;
                if (lid == 0) {
                    stats.set((x * stride + j * cpb + c) * 2, ref);
                    stats.set((x * stride + j * cpb + c) * 2 + 1, sum);
                }
            }
        }
        storePartial(partial, (x * splits + sp) * (d + 2), d, lid, m, l, acc0, acc1);
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
        float m = splitMax(partial, x * splits, splits, d);
        float l = splitSum(partial, x * splits, splits, d, 1, m);
        float acc0 = lid < d ? splitSum(partial, x * splits, splits, d, 2 + lid, m) : 0f;
        float acc1 = lid + LOCAL < d ? splitSum(partial, x * splits, splits, d, 2 + lid + LOCAL, m) : 0f;
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

    /**
     * SPEC 3, split-K: work-group {@code x * (splits + 1) + sp}. For sp < splits it runs the online softmax of
     * query vector x over its share of the selected blocks of the shared cache; sp == splits takes the window
     * ring. Each leaves a partial (max, sum, accumulator); {@link #mergeSparse} combines and gates them.
     */
    static void attendSparse(KernelContext ctx, FloatArray q, FloatArray kf, FloatArray vf, IntArray kh, IntArray vh, FloatArray kw, FloatArray vw,
                             IntArray pos, IntArray p, FloatArray consts, IntArray sel, IntArray count, FloatArray partial) {
        int splits = p.get(SPLITS);
        int x = ctx.groupIdx / (splits + 1), sp = ctx.groupIdx % (splits + 1);
        int lid = ctx.localIdx;
        int hq = p.get(HQ), hkv = p.get(HKV), d = p.get(DIM), b = p.get(BLOCK);
        int h = (x % hq) / (hq / hkv);
        int last = pos.get(x / hq);
        float sc = consts.get(0);
        int mbits = p.get(MBITS), row = p.get(ROW), pageStride = p.get(PAGE), kPage = p.get(KPAGE);
        float m = Float.NEGATIVE_INFINITY, l = 0f, acc0 = 0f, acc1 = 0f;
        if (sp < splits) {
            int list = h * p.get(NQB) + last / p.get(QBLOCK) - p.get(FIRST_QB);
            int blocks = count.get(list), per = (blocks + splits - 1) / splits;
            for (int c = sp * per; c < TornadoMath.min(blocks, (sp + 1) * per); c++) {
                int j = sel.get(list * p.get(SEL_STRIDE) + c);
                int end = TornadoMath.min((j + 1) * b, last + 1);
                for (int t0 = j * b; t0 < end; t0 += LOCAL) {
                    int n = TornadoMath.min(LOCAL, end - t0);
                    float logit = logit(q, kf, kh, consts, x, lid < n, (t0 / b) * kPage + h * d * b + t0 % b + lid, b, d, mbits, sc);
                    float mNew = TornadoMath.max(m, reduceMax(ctx, logit, lid));
                    float ref = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
                    float pr = logit == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(logit - ref);
                    float sum = reduceSum(ctx, pr, lid);
                    float alpha = m == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(m - ref);
                    int base = (t0 / b) * pageStride + (h * b + t0 % b) * row;
                    acc0 = acc0 * alpha + weighted(ctx, pr, vf, vh, consts, base, n, row, d, mbits, lid, lid);
                    if (d > LOCAL) acc1 = acc1 * alpha + weighted(ctx, pr, vf, vh, consts, base, n, row, d, mbits, lid, lid + LOCAL);
                    l = l * alpha + sum;
                    m = mNew;
                }
            }
        } else if (p.get(WINDOW) > 0) {
            int ring = p.get(RING);
            int from = TornadoMath.max(0, last - p.get(WINDOW) + 1);
            int t0 = from;
            while (t0 <= last) {
                // Chunks stop where the ring wraps, so each chunk is contiguous in the ring.
                int n = TornadoMath.min(TornadoMath.min(LOCAL, last + 1 - t0), ring - t0 % ring);
                float logit = logit(q, kw, kh, consts, x, lid < n, (h * ring + t0 % ring + lid) * d, 1, d, 0, sc);
                float mNew = TornadoMath.max(m, reduceMax(ctx, logit, lid));
                float ref = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
                float pr = logit == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(logit - ref);
                float sum = reduceSum(ctx, pr, lid);
                float alpha = m == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(m - ref);
                int base = (h * ring + t0 % ring) * d;
                acc0 = acc0 * alpha + weighted(ctx, pr, vw, vh, consts, base, n, d, d, 0, lid, lid);
                if (d > LOCAL) acc1 = acc1 * alpha + weighted(ctx, pr, vw, vh, consts, base, n, d, d, 0, lid, lid + LOCAL);
                l = l * alpha + sum;
                m = mNew;
                t0 += n;
            }
        }
        storePartial(partial, (x * (splits + 1) + sp) * (d + 2), d, lid, m, l, acc0, acc1);
    }

    /** Output of query vector x: gateSel * (its selected splits, combined) + gateSwa * (its window partial). */
    static void mergeSparse(KernelContext ctx, FloatArray partial, IntArray p, FloatArray gates, FloatArray out) {
        int x = ctx.groupIdx;
        int lid = ctx.localIdx;
        int splits = p.get(SPLITS), d = p.get(DIM);
        int first = x * (splits + 1);
        float m = splitMax(partial, first, splits, d);
        float l = splitSum(partial, first, splits, d, 1, m);
        float acc0 = lid < d ? splitSum(partial, first, splits, d, 2 + lid, m) : 0f;
        float acc1 = lid + LOCAL < d ? splitSum(partial, first, splits, d, 2 + lid + LOCAL, m) : 0f;
        store(out, x, d, lid, acc0, acc1, l > 0f ? gates.get(x * 2) / l : 0f, false);
        int w = (first + splits) * (d + 2);
        float lw = partial.get(w + 1);
        float w0 = lid < d ? partial.get(w + 2 + lid) : 0f;
        float w1 = lid + LOCAL < d ? partial.get(w + 2 + lid + LOCAL) : 0f;
        store(out, x, d, lid, w0, w1, lw > 0f ? gates.get(x * 2 + 1) / lw : 0f, true);
    }

    /** Partial state [m, l, acc[0..D)] of one split at {@code at}. */
    private static void storePartial(FloatArray partial, int at, int d, int lid, float m, float l, float acc0, float acc1) {
        if (lid == 0) {
            partial.set(at, m);
            partial.set(at + 1, l);
        }
        if (lid < d) partial.set(at + 2 + lid, acc0);
        if (lid + LOCAL < d) partial.set(at + 2 + lid + LOCAL, acc1);
    }

    /** Largest running max among the partials {@code first .. first + count - 1}. */
    private static float splitMax(FloatArray partial, int first, int count, int d) {
        float m = Float.NEGATIVE_INFINITY;
        for (int sp = 0; sp < count; sp++) m = TornadoMath.max(m, partial.get((first + sp) * (d + 2)));
        return m;
    }

    /** {@code sum over the partials of slot * e^(m_s - m)}: a sum (slot 1) or accumulator element, rebased to max m. */
    private static float splitSum(FloatArray partial, int first, int count, int d, int slot, float m) {
        float r = 0f;
        for (int sp = 0; sp < count; sp++) {
            int at = (first + sp) * (d + 2);
            float ms = partial.get(at);
            if (ms != Float.NEGATIVE_INFINITY) r += partial.get(at + slot) * TornadoMath.exp(ms - m);
        }
        return r;
    }

    /** Scaled logit of query vector x and the key whose element e is at {@code base + e * stride}; -inf if not visible. */
    private static float logit(FloatArray q, FloatArray kf, IntArray kh, FloatArray consts, int x, boolean visible, int base, int stride, int d,
                               int mbits, float scale) {
        float dot = Float.NEGATIVE_INFINITY;
        if (visible) {
            dot = 0f;
            // Four loads in flight per thread instead of one: the loop is latency-bound, not bandwidth-bound.
            int qb = x * d, four = d - d % 4;
            for (int e = 0; e < four; e += 4) dot += dot4(q, kf, kh, consts, qb + e, base + e * stride, stride, mbits);
            for (int e = four; e < d; e++) dot += q.get(qb + e) * load(kf, kh, consts, base + e * stride, mbits);
            dot = dot * scale;
        }
        return dot;
    }

    /** {@code q[qi..qi+3] . k[at + i * stride]} for i < 4, the four loads independent of each other. */
    private static float dot4(FloatArray q, FloatArray kf, IntArray kh, FloatArray consts, int qi, int at, int stride, int mbits) {
        float k0 = load(kf, kh, consts, at, mbits), k1 = load(kf, kh, consts, at + stride, mbits);
        float k2 = load(kf, kh, consts, at + 2 * stride, mbits), k3 = load(kf, kh, consts, at + 3 * stride, mbits);
        return (q.get(qi) * k0 + q.get(qi + 1) * k1) + (q.get(qi + 2) * k2 + q.get(qi + 3) * k3);
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

    /**
     * {@code sum over the chunk of p_t * v[t][dim]}: each thread shares its p_t, then sums for its dimension.
     * The chunk's rows are {@code row} elements apart from element {@code base} (a chunk never crosses a page).
     */
    private static float weighted(KernelContext ctx, float pr, FloatArray vf, IntArray vh, FloatArray consts, int base, int n, int row, int d,
                                  int mbits, int lid, int dim) {
        float[] pl = ctx.allocateFloatLocalArray(128);
        pl[lid] = pr;
        ctx.localBarrier();
        float a = 0f;
        if (dim < d) {
            float a1 = 0f, a2 = 0f, a3 = 0f;
            int four = n - n % 4;
            for (int tt = 0; tt < four; tt += 4) {
                a += pl[tt] * load(vf, vh, consts, base + tt * row + dim, mbits);
                a1 += pl[tt + 1] * load(vf, vh, consts, base + (tt + 1) * row + dim, mbits);
                a2 += pl[tt + 2] * load(vf, vh, consts, base + (tt + 2) * row + dim, mbits);
                a3 += pl[tt + 3] * load(vf, vh, consts, base + (tt + 3) * row + dim, mbits);
            }
            for (int tt = four; tt < n; tt++) a += pl[tt] * load(vf, vh, consts, base + tt * row + dim, mbits);
            a = (a + a1) + (a2 + a3);
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
