package org.hysparse.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vectorised steps of {@link FlashKernel} (the Vector API): logits are computed as {@code K * Q^T} so each key
 * row is read once, in place, and each lane holds a different query vector; softmax then runs lane-wise down the
 * chunk. Query vectors are padded to a multiple of the lane count; padded lanes are always masked. Loaded only on
 * this path, so that the plain path runs where the Vector API module is missing.
 */
final class VectorKernel {
    static final VectorSpecies<Float> F = VectorInfo.SPECIES;
    static final int LANES = F.length();

    private VectorKernel() {
    }

    static int lanes() {
        return LANES;
    }

    /**
     * {@code a * b + c}: one fused instruction where the hardware has FMA ({@link VectorInfo#FMA}), else a multiply and
     * an add, since the Vector API emulates a missing FMA lane by lane in software, far slower than the two.
     */
    private static FloatVector fma(FloatVector a, FloatVector b, FloatVector c) {
        return VectorInfo.FMA ? a.fma(b, c) : a.mul(b).add(c);
    }

    /** {@code s[tt][r] = sum_d K[tt][d] * qt[d][r]}, four keys at a time to reuse each query load. */
    static void logits(Scratch sc, Chunk k, int n, int rPad, int dim) {
        float[] qt = sc.qt, s = sc.s, ka = k.array();
        int stride = k.stride();
        for (int rv = 0; rv < rPad; rv += LANES) {
            int tt = 0;
            for (; tt + 4 <= n; tt += 4) {
                int k0 = k.base() + tt * stride, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                for (int d = 0; d < dim; d++) {
                    FloatVector q = FloatVector.fromArray(F, qt, d * rPad + rv);
                    a0 = fma(q, FloatVector.broadcast(F, ka[k0 + d]), a0);
                    a1 = fma(q, FloatVector.broadcast(F, ka[k1 + d]), a1);
                    a2 = fma(q, FloatVector.broadcast(F, ka[k2 + d]), a2);
                    a3 = fma(q, FloatVector.broadcast(F, ka[k3 + d]), a3);
                }
                a0.intoArray(s, tt * rPad + rv);
                a1.intoArray(s, (tt + 1) * rPad + rv);
                a2.intoArray(s, (tt + 2) * rPad + rv);
                a3.intoArray(s, (tt + 3) * rPad + rv);
            }
            for (; tt < n; tt++) {
                int k0 = k.base() + tt * stride;
                FloatVector a0 = FloatVector.zero(F);
                for (int d = 0; d < dim; d++) a0 = fma(FloatVector.fromArray(F, qt, d * rPad + rv), FloatVector.broadcast(F, ka[k0 + d]), a0);
                a0.intoArray(s, tt * rPad + rv);
            }
        }
    }

    /**
     * Decode-sized tasks (fewer query vectors than lanes, e.g. one row of a 4-head group on 8 lanes): lanes
     * run along D instead, so none is wasted on padding; four query rows share each key load.
     */
    static void dotLogits(Scratch sc, Chunk k, int n, int rCount, int rPad, int dim) {
        float[] qr = sc.qr, s = sc.s, ka = k.array();
        int stride = k.stride(), dv = F.loopBound(dim);
        for (int tt = 0; tt < n; tt++) {
            int kb = k.base() + tt * stride;
            int r = 0;
            for (; r + 4 <= rCount; r += 4) {
                int q0 = r * dim, q1 = q0 + dim, q2 = q1 + dim, q3 = q2 + dim;
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                for (int d = 0; d < dv; d += LANES) {
                    FloatVector x = FloatVector.fromArray(F, ka, kb + d);
                    a0 = fma(x, FloatVector.fromArray(F, qr, q0 + d), a0);
                    a1 = fma(x, FloatVector.fromArray(F, qr, q1 + d), a1);
                    a2 = fma(x, FloatVector.fromArray(F, qr, q2 + d), a2);
                    a3 = fma(x, FloatVector.fromArray(F, qr, q3 + d), a3);
                }
                float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
                float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
                for (int d = dv; d < dim; d++) {
                    float x = ka[kb + d];
                    s0 += x * qr[q0 + d];
                    s1 += x * qr[q1 + d];
                    s2 += x * qr[q2 + d];
                    s3 += x * qr[q3 + d];
                }
                int o = tt * rPad + r;
                s[o] = s0;
                s[o + 1] = s1;
                s[o + 2] = s2;
                s[o + 3] = s3;
            }
            for (; r < rCount; r++) {
                int q0 = r * dim;
                FloatVector a0 = FloatVector.zero(F);
                for (int d = 0; d < dv; d += LANES) a0 = fma(FloatVector.fromArray(F, ka, kb + d), FloatVector.fromArray(F, qr, q0 + d), a0);
                float s0 = a0.reduceLanes(VectorOperators.ADD);
                for (int d = dv; d < dim; d++) s0 += ka[kb + d] * qr[q0 + d];
                s[tt * rPad + r] = s0;
            }
        }
    }

    /**
     * Online softmax, lane-wise: new running max, probabilities relative to it (written over the logits),
     * rescale factor for what was accumulated before. A lane that has seen nothing keeps max -inf and is
     * computed against 0 so that no -inf - -inf NaN appears.
     */
    static void softmaxStep(Scratch sc, Scratch.Branch br, int n, int rPad, int statSlot) {
        float[] s = sc.s;
        FloatVector negInf = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector zero = FloatVector.zero(F);
        for (int rv = 0; rv < rPad; rv += LANES) {
            FloatVector blockMax = negInf;
            for (int tt = 0; tt < n; tt++) blockMax = blockMax.max(FloatVector.fromArray(F, s, tt * rPad + rv));
            FloatVector mOld = FloatVector.fromArray(F, br.m, rv);
            FloatVector mNew = mOld.max(blockMax);
            VectorMask<Float> empty = mNew.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY);
            FloatVector ref = mNew.blend(zero, empty);
            FloatVector sum = zero;
            for (int tt = 0; tt < n; tt++) {
                FloatVector p = FloatVector.fromArray(F, s, tt * rPad + rv).sub(ref).lanewise(VectorOperators.EXP);
                p.intoArray(s, tt * rPad + rv);
                sum = sum.add(p);
            }
            FloatVector alpha = mOld.sub(ref).lanewise(VectorOperators.EXP);
            fma(FloatVector.fromArray(F, br.l, rv), alpha, sum).intoArray(br.l, rv);
            mNew.intoArray(br.m, rv);
            alpha.intoArray(sc.alpha, rv);
            if (statSlot >= 0) {
                ref.intoArray(sc.statRef, statSlot * rPad + rv);
                sum.intoArray(sc.statSum, statSlot * rPad + rv);
                blockMax.intoArray(sc.statMax, statSlot * rPad + rv);
            }
        }
    }

    /** {@code acc[r] = alpha[r] * acc[r] + sum_tt p[tt][r] * V[tt]}, four query vectors per value load. */
    static void accumulate(Scratch sc, Scratch.Branch br, Chunk v, int n, int rCount, int rPad, int dim) {
        float[] acc = br.acc, s = sc.s, va = v.array();
        int stride = v.stride();
        for (int r = 0; r < rCount; r++) {
            float a = sc.alpha[r];
            if (a != 1f) scale(acc, r * dim, dim, a);
        }
        int dv = F.loopBound(dim), dv2 = dim / (2 * LANES) * (2 * LANES);
        int r = 0;
        for (; r + 4 <= rCount; r += 4) {
            int o0 = r * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
            // Two value vectors per step: each probability broadcast feeds two FMAs.
            for (int d = 0; d < dv2; d += 2 * LANES) {
                int e = d + LANES;
                FloatVector a0 = FloatVector.fromArray(F, acc, o0 + d), a1 = FloatVector.fromArray(F, acc, o1 + d);
                FloatVector a2 = FloatVector.fromArray(F, acc, o2 + d), a3 = FloatVector.fromArray(F, acc, o3 + d);
                FloatVector b0 = FloatVector.fromArray(F, acc, o0 + e), b1 = FloatVector.fromArray(F, acc, o1 + e);
                FloatVector b2 = FloatVector.fromArray(F, acc, o2 + e), b3 = FloatVector.fromArray(F, acc, o3 + e);
                for (int tt = 0; tt < n; tt++) {
                    int vb = v.base() + tt * stride;
                    FloatVector x = FloatVector.fromArray(F, va, vb + d), y = FloatVector.fromArray(F, va, vb + e);
                    int p = tt * rPad + r;
                    FloatVector p0 = FloatVector.broadcast(F, s[p]), p1 = FloatVector.broadcast(F, s[p + 1]);
                    FloatVector p2 = FloatVector.broadcast(F, s[p + 2]), p3 = FloatVector.broadcast(F, s[p + 3]);
                    a0 = fma(x, p0, a0); b0 = fma(y, p0, b0);
                    a1 = fma(x, p1, a1); b1 = fma(y, p1, b1);
                    a2 = fma(x, p2, a2); b2 = fma(y, p2, b2);
                    a3 = fma(x, p3, a3); b3 = fma(y, p3, b3);
                }
                a0.intoArray(acc, o0 + d); a1.intoArray(acc, o1 + d); a2.intoArray(acc, o2 + d); a3.intoArray(acc, o3 + d);
                b0.intoArray(acc, o0 + e); b1.intoArray(acc, o1 + e); b2.intoArray(acc, o2 + e); b3.intoArray(acc, o3 + e);
            }
            for (int d = dv2; d < dv; d += LANES) {
                FloatVector a0 = FloatVector.fromArray(F, acc, o0 + d), a1 = FloatVector.fromArray(F, acc, o1 + d);
                FloatVector a2 = FloatVector.fromArray(F, acc, o2 + d), a3 = FloatVector.fromArray(F, acc, o3 + d);
                for (int tt = 0; tt < n; tt++) {
                    FloatVector x = FloatVector.fromArray(F, va, v.base() + tt * stride + d);
                    int p = tt * rPad + r;
                    a0 = fma(x, FloatVector.broadcast(F, s[p]), a0);
                    a1 = fma(x, FloatVector.broadcast(F, s[p + 1]), a1);
                    a2 = fma(x, FloatVector.broadcast(F, s[p + 2]), a2);
                    a3 = fma(x, FloatVector.broadcast(F, s[p + 3]), a3);
                }
                a0.intoArray(acc, o0 + d);
                a1.intoArray(acc, o1 + d);
                a2.intoArray(acc, o2 + d);
                a3.intoArray(acc, o3 + d);
            }
            for (int d = dv; d < dim; d++) {
                for (int tt = 0; tt < n; tt++) {
                    float x = va[v.base() + tt * stride + d];
                    int p = tt * rPad + r;
                    acc[o0 + d] += s[p] * x;
                    acc[o1 + d] += s[p + 1] * x;
                    acc[o2 + d] += s[p + 2] * x;
                    acc[o3 + d] += s[p + 3] * x;
                }
            }
        }
        for (; r < rCount; r++) {
            int o = r * dim;
            for (int d = 0; d < dv; d += LANES) {
                FloatVector a0 = FloatVector.fromArray(F, acc, o + d);
                for (int tt = 0; tt < n; tt++) a0 = fma(FloatVector.fromArray(F, va, v.base() + tt * stride + d), FloatVector.broadcast(F, s[tt * rPad + r]), a0);
                a0.intoArray(acc, o + d);
            }
            for (int d = dv; d < dim; d++) {
                for (int tt = 0; tt < n; tt++) acc[o + d] += s[tt * rPad + r] * va[v.base() + tt * stride + d];
            }
        }
    }

    private static void scale(float[] a, int from, int len, float f) {
        int i = 0;
        for (int bound = F.loopBound(len); i < bound; i += LANES) {
            FloatVector.fromArray(F, a, from + i).mul(f).intoArray(a, from + i);
        }
        for (; i < len; i++) a[from + i] *= f;
    }
}
