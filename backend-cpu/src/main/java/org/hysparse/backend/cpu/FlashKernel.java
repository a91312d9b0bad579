package org.hysparse.backend.cpu;

import org.hysparse.api.ScoreMode;

/**
 * Online-softmax attention of {@code R} query vectors (rows x heads of one KV head's group) over chunks of KV
 * rows, on one of two paths chosen once per JVM ({@link CpuProvider#plainPath}): the vectorised steps of
 * {@link VectorKernel} (the Vector API), or plain float32 loops where that module is missing (or when forced with
 * {@code -Dhysparse.cpu.vectorBits=0}, so that the tests run this path on any machine). Both keep the same state
 * and scratch layout: logits {@code s[tt * rPad + r]} (row-major {@code s[r * n + tt]} for decode-sized tasks on the
 * Vector API path), query vectors padded to the lane count (1 on the plain path).
 * The plain loops are ordered so that the JIT can vectorise their innermost loop by itself: over query vectors for
 * the logits, over dimensions for the values.
 */
final class FlashKernel {
    /** Plain float32 loops instead of the Vector API: decided once, before any Vector API class could load. */
    static final boolean PLAIN = CpuProvider.plainPath();
    static final int LANES = PLAIN ? 1 : VectorKernel.lanes();

    private FlashKernel() {
    }

    /** Whether logits of {@code rCount} query vectors use the row layout {@code qr} (else the transposed {@code qt}). */
    static boolean rowDots(int rCount) {
        return rCount < LANES;
    }

    static int pad(int r) {
        return (r + LANES - 1) / LANES * LANES;
    }

    /**
     * Consumes positions {@code t0 .. t0+n-1}: query vector {@code r} sees those in {@code [lo[r], hi[r]]}.
     * With {@code statSlot >= 0}, records the chunk's reference maximum, partial sum and largest logit, from
     * which both score modes follow once the row's final maximum and sum are known (Algorithm 1).
     */
    static void consume(Scratch sc, Scratch.Branch br, Chunk k, Chunk v, int t0, int n, int rCount, int rPad, int dim,
                        boolean withValues, int statSlot) {
        // Decode-sized tasks keep logits row-major (s[r * n + tt]), the others lane-wise (s[tt * rPad + r]).
        boolean rows = !PLAIN && rowDots(rCount);
        int ts = rows ? 1 : rPad, rs = rows ? n : 1;
        if (PLAIN) logits(sc, k, n, rPad, dim);
        else if (rows) VectorKernel.dotLogits(sc, k, n, rCount, dim);
        else VectorKernel.logits(sc, k, n, rPad, dim);
        mask(sc, t0, n, rows ? rCount : rPad, rCount, ts, rs);
        if (PLAIN) softmaxStep(sc, br, n, rPad, statSlot);
        else if (rows) VectorKernel.softmaxRows(sc, br, n, rCount, rPad, statSlot);
        else VectorKernel.softmaxStep(sc, br, n, rPad, statSlot);
        if (!withValues) return;
        if (PLAIN) accumulate(sc, br, v, n, rCount, rPad, dim);
        else VectorKernel.accumulate(sc, br, v, n, rCount, ts, rs, dim);
    }

    /** Plain path: {@code s[tt][r] = sum_d K[tt][d] * qt[d][r]}, the innermost loop over query vectors. */
    private static void logits(Scratch sc, Chunk k, int n, int rPad, int dim) {
        float[] qt = sc.qt, s = sc.s, ka = k.array();
        int stride = k.stride();
        for (int tt = 0; tt < n; tt++) {
            int kb = k.base() + tt * stride, o = tt * rPad;
            java.util.Arrays.fill(s, o, o + rPad, 0f);
            for (int d = 0; d < dim; d++) {
                float x = ka[kb + d];
                int q = d * rPad;
                for (int r = 0; r < rPad; r++) s[o + r] += qt[q + r] * x;
            }
        }
    }

    /** Plain path: the online-softmax step of {@link VectorKernel#softmaxStep}, one query vector at a time. */
    private static void softmaxStep(Scratch sc, Scratch.Branch br, int n, int rPad, int statSlot) {
        float[] s = sc.s;
        for (int r = 0; r < rPad; r++) {
            float blockMax = Float.NEGATIVE_INFINITY;
            for (int tt = 0; tt < n; tt++) blockMax = Math.max(blockMax, s[tt * rPad + r]);
            float mNew = Math.max(br.m[r], blockMax);
            float ref = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
            float sum = 0f;
            for (int tt = 0; tt < n; tt++) {
                float p = (float) Math.exp(s[tt * rPad + r] - ref);
                s[tt * rPad + r] = p;
                sum += p;
            }
            keep(sc, br, r, rPad, statSlot, ref, sum, blockMax);
        }
    }

    /**
     * Query vector {@code r}'s state after a chunk whose exponentials relative to {@code ref} sum to {@code sum}: the
     * running sum rescaled to the new max, the factor for what was accumulated, and the chunk's statistics (both
     * score modes follow from them, see {@link #blockScore}).
     */
    static void keep(Scratch sc, Scratch.Branch br, int r, int rPad, int statSlot, float ref, float sum, float blockMax) {
        float mOld = br.m[r], alpha = (float) Math.exp(mOld - ref);
        br.l[r] = br.l[r] * alpha + sum;
        br.m[r] = Math.max(mOld, blockMax);
        sc.alpha[r] = alpha;
        if (statSlot >= 0) {
            sc.statRef[statSlot * rPad + r] = ref;
            sc.statSum[statSlot * rPad + r] = sum;
            sc.statMax[statSlot * rPad + r] = blockMax;
        }
    }

    /** Plain path: {@code acc[r] = alpha[r] * acc[r] + sum_tt p[tt][r] * V[tt]}, the innermost loop over dimensions. */
    private static void accumulate(Scratch sc, Scratch.Branch br, Chunk v, int n, int rCount, int rPad, int dim) {
        float[] acc = br.acc, s = sc.s, va = v.array();
        int stride = v.stride();
        for (int r = 0; r < rCount; r++) {
            int o = r * dim;
            float a = sc.alpha[r];
            if (a != 1f) for (int d = 0; d < dim; d++) acc[o + d] *= a;
            for (int tt = 0; tt < n; tt++) {
                float p = s[tt * rPad + r];
                int vb = v.base() + tt * stride;
                for (int d = 0; d < dim; d++) acc[o + d] += p * va[vb + d];
            }
        }
    }

    /**
     * Hides positions outside each query vector's range ({@code s[tt * ts + r * rs]}); only chunks on a boundary pay
     * for it. Padding vectors ({@code r >= rCount}, up to {@code rTotal}) see nothing.
     */
    private static void mask(Scratch sc, int t0, int n, int rTotal, int rCount, int ts, int rs) {
        float[] s = sc.s;
        int last = t0 + n - 1;
        for (int r = 0; r < rTotal; r++) {
            int lo = r < rCount ? sc.lo[r] : Integer.MAX_VALUE;
            int hi = r < rCount ? sc.hi[r] : -1;
            if (lo <= t0 && hi >= last) continue;
            for (int tt = 0; tt < n; tt++) {
                int t = t0 + tt;
                if (t < lo || t > hi) s[tt * ts + r * rs] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * {@code out = acc * normalizer}: one over the softmax denominator relative to the running max {@code m},
     * {@code l + exp(sink - m)} (a sink adds to the denominator only, SPEC 3); a branch that saw no position
     * contributes 0. In double, so a sink far above every logit gives a tiny factor, not an overflow.
     */
    static double normalizer(Scratch.Branch br, int r) {
        if (!(br.l[r] > 0f)) return 0;
        float s = br.sink[r];
        return s == Float.NEGATIVE_INFINITY ? 1.0 / br.l[r] : 1.0 / (br.l[r] + Math.exp((double) s - br.m[r]));
    }

    /** Share of query vector {@code r}'s probability on keys (1 without a sink). */
    static double keyShare(Scratch.Branch br, int r) {
        return br.l[r] * normalizer(br, r);
    }

    /**
     * Score of query vector {@code r} on the block recorded in {@code slot}, under its final max and sum:
     * the block's mass (partial sum rescaled) or its largest probability (largest logit rescaled).
     */
    static float blockScore(Scratch sc, Scratch.Branch br, int slot, int rPad, int r, ScoreMode mode) {
        float m = br.m[r];
        double norm = normalizer(br, r);
        if (m == Float.NEGATIVE_INFINITY || norm == 0) return 0f;
        int at = slot * rPad + r;
        if (sc.statSum[at] == 0f) return 0f;
        return mode == ScoreMode.MASS
                ? (float) (sc.statSum[at] * Math.exp((double) sc.statRef[at] - m) * norm)
                : (float) (Math.exp((double) sc.statMax[at] - m) * norm);
    }
}
