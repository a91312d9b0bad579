package org.hysparse.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vectorised steps of {@link FlashKernel} (the Vector API): logits are computed as {@code K * Q^T} so each key
 * row is read once, in place, and each lane holds a different query vector; softmax then runs lane-wise down the
 * chunk. Query vectors are padded to a multiple of the lane count; padded lanes are always masked. Decode-sized tasks
 * (fewer query vectors than lanes) run lanes along D instead and keep their logits row-major ({@link #dotLogits},
 * {@link #softmaxRows}). Loaded only on this path, so that the plain path runs where the Vector API module is missing.
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

    /**
     * {@code s[tt][r] = sum_d K[tt][d] * qt[d][r]}: a register tile of four keys by two lane-vectors of query vectors
     * (eight independent accumulators, enough to keep both FMA pipes busy through their latency; each key element is
     * broadcast once for two query vectors, each query load serves four keys), then one lane-vector where fewer remain.
     */
    static void logits(Scratch sc, Chunk k, int n, int rPad, int dim) {
        // Two methods, not two loops of one: C2 compiles a method for the paths its profile saw taken, and does not
        // inline the Vector API into a loop it never saw run. After a prefill (only pairs of lane-vectors) a decode call
        // (one lane-vector) then ran that loop with every vector boxed, 20x slower, in the same JVM.
        int rv = 0;
        for (; rv + 2 * LANES <= rPad; rv += 2 * LANES) logitsPair(sc, k, n, rPad, dim, rv);
        for (; rv < rPad; rv += LANES) logitsOne(sc, k, n, rPad, dim, rv);
    }

    /** Query vectors {@code rv .. rv + 2 * LANES - 1}: the 4-key x 2-vector register tile. */
    private static void logitsPair(Scratch sc, Chunk k, int n, int rPad, int dim, int rv) {
        float[] qt = sc.qt, s = sc.s, ka = k.array();
        int stride = k.stride();
        int tt = 0;
        for (; tt + 4 <= n; tt += 4) {
            int k0 = k.base() + tt * stride, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int d = 0; d < dim; d++) {
                FloatVector q = FloatVector.fromArray(F, qt, d * rPad + rv), u = FloatVector.fromArray(F, qt, d * rPad + rv + LANES);
                FloatVector x0 = FloatVector.broadcast(F, ka[k0 + d]), x1 = FloatVector.broadcast(F, ka[k1 + d]);
                FloatVector x2 = FloatVector.broadcast(F, ka[k2 + d]), x3 = FloatVector.broadcast(F, ka[k3 + d]);
                a0 = fma(q, x0, a0); b0 = fma(u, x0, b0);
                a1 = fma(q, x1, a1); b1 = fma(u, x1, b1);
                a2 = fma(q, x2, a2); b2 = fma(u, x2, b2);
                a3 = fma(q, x3, a3); b3 = fma(u, x3, b3);
            }
            int o = tt * rPad + rv;
            a0.intoArray(s, o); b0.intoArray(s, o + LANES);
            a1.intoArray(s, o + rPad); b1.intoArray(s, o + rPad + LANES);
            a2.intoArray(s, o + 2 * rPad); b2.intoArray(s, o + 2 * rPad + LANES);
            a3.intoArray(s, o + 3 * rPad); b3.intoArray(s, o + 3 * rPad + LANES);
        }
        for (; tt < n; tt++) {
            logitKey(sc, k, tt, rPad, dim, rv);
            logitKey(sc, k, tt, rPad, dim, rv + LANES);
        }
    }

    /** Query vectors {@code rv .. rv + LANES - 1}: four keys at a time, each query load reused four times. */
    private static void logitsOne(Scratch sc, Chunk k, int n, int rPad, int dim, int rv) {
        float[] qt = sc.qt, s = sc.s, ka = k.array();
        int stride = k.stride();
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
        for (; tt < n; tt++) logitKey(sc, k, tt, rPad, dim, rv);
    }

    /**
     * Key {@code tt} against query vectors {@code rv .. rv + LANES - 1}: the keys past a multiple of four (a chunk's
     * tail, mostly in window chunks), in a method of its own for the reason given at {@link #logits}.
     */
    private static void logitKey(Scratch sc, Chunk k, int tt, int rPad, int dim, int rv) {
        float[] qt = sc.qt, ka = k.array();
        int k0 = k.base() + tt * k.stride();
        FloatVector a0 = FloatVector.zero(F);
        for (int d = 0; d < dim; d++) a0 = fma(FloatVector.fromArray(F, qt, d * rPad + rv), FloatVector.broadcast(F, ka[k0 + d]), a0);
        a0.intoArray(sc.s, tt * rPad + rv);
    }

    /**
     * Decode-sized tasks (fewer query vectors than lanes, e.g. one row of a 4-head group on 16 lanes): lanes run along
     * D instead, so none is wasted on padding, and the logits are written row-major, {@code s[r * n + tt]}, for
     * {@link #softmaxRows}. Two keys by four query vectors at a time: each query load serves two keys and each key
     * load four query vectors, eight independent accumulators.
     */
    static void dotLogits(Scratch sc, Chunk k, int n, int rCount, int dim) {
        float[] qr = sc.qr, s = sc.s, ka = k.array();
        int stride = k.stride(), dv = F.loopBound(dim);
        int tt = 0;
        for (; tt + 2 <= n; tt += 2) {
            int kb = k.base() + tt * stride, kc = kb + stride;
            int r = 0;
            for (; r + 4 <= rCount; r += 4) {
                int q0 = r * dim, q1 = q0 + dim, q2 = q1 + dim, q3 = q2 + dim;
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (int d = 0; d < dv; d += LANES) {
                    FloatVector x = FloatVector.fromArray(F, ka, kb + d), y = FloatVector.fromArray(F, ka, kc + d);
                    FloatVector u0 = FloatVector.fromArray(F, qr, q0 + d), u1 = FloatVector.fromArray(F, qr, q1 + d);
                    FloatVector u2 = FloatVector.fromArray(F, qr, q2 + d), u3 = FloatVector.fromArray(F, qr, q3 + d);
                    a0 = fma(x, u0, a0); b0 = fma(y, u0, b0);
                    a1 = fma(x, u1, a1); b1 = fma(y, u1, b1);
                    a2 = fma(x, u2, a2); b2 = fma(y, u2, b2);
                    a3 = fma(x, u3, a3); b3 = fma(y, u3, b3);
                }
                float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
                float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
                float t0 = b0.reduceLanes(VectorOperators.ADD), t1 = b1.reduceLanes(VectorOperators.ADD);
                float t2 = b2.reduceLanes(VectorOperators.ADD), t3 = b3.reduceLanes(VectorOperators.ADD);
                for (int d = dv; d < dim; d++) {
                    float x = ka[kb + d], y = ka[kc + d];
                    s0 += x * qr[q0 + d]; t0 += y * qr[q0 + d];
                    s1 += x * qr[q1 + d]; t1 += y * qr[q1 + d];
                    s2 += x * qr[q2 + d]; t2 += y * qr[q2 + d];
                    s3 += x * qr[q3 + d]; t3 += y * qr[q3 + d];
                }
                int o = r * n + tt;
                s[o] = s0; s[o + 1] = t0;
                s[o + n] = s1; s[o + n + 1] = t1;
                s[o + 2 * n] = s2; s[o + 2 * n + 1] = t2;
                s[o + 3 * n] = s3; s[o + 3 * n + 1] = t3;
            }
            for (; r < rCount; r++) {
                s[r * n + tt] = dot(ka, kb, qr, r * dim, dim);
                s[r * n + tt + 1] = dot(ka, kc, qr, r * dim, dim);
            }
        }
        for (; tt < n; tt++) {
            for (int r = 0; r < rCount; r++) s[r * n + tt] = dot(ka, k.base() + tt * stride, qr, r * dim, dim);
        }
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int dim) {
        int dv = F.loopBound(dim);
        FloatVector acc = FloatVector.zero(F);
        for (int d = 0; d < dv; d += LANES) acc = fma(FloatVector.fromArray(F, a, ao + d), FloatVector.fromArray(F, b, bo + d), acc);
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int d = dv; d < dim; d++) sum += a[ao + d] * b[bo + d];
        return sum;
    }

    /**
     * The online-softmax step of {@link #softmaxStep} on row-major logits ({@link #dotLogits}): lanes along the chunk's
     * keys, one query vector at a time, so a decode task exponentiates its few query vectors' logits, not a whole
     * lane-vector of padding per key.
     */
    static void softmaxRows(Scratch sc, Scratch.Branch br, int n, int rCount, int rPad, int statSlot) {
        float[] s = sc.s;
        int nv = F.loopBound(n);
        for (int r = 0; r < rCount; r++) {
            int o = r * n;
            FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int tt = 0; tt < nv; tt += LANES) mv = mv.max(FloatVector.fromArray(F, s, o + tt));
            float blockMax = mv.reduceLanes(VectorOperators.MAX);
            for (int tt = nv; tt < n; tt++) blockMax = Math.max(blockMax, s[o + tt]);
            float mNew = Math.max(br.m[r], blockMax);
            float ref = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
            FloatVector sv = FloatVector.zero(F);
            for (int tt = 0; tt < nv; tt += LANES) {
                FloatVector e = FloatVector.fromArray(F, s, o + tt).sub(ref).lanewise(VectorOperators.EXP);
                e.intoArray(s, o + tt);
                sv = sv.add(e);
            }
            float sum = sv.reduceLanes(VectorOperators.ADD);
            for (int tt = nv; tt < n; tt++) {
                float e = (float) Math.exp(s[o + tt] - ref);
                s[o + tt] = e;
                sum += e;
            }
            FlashKernel.keep(sc, br, r, rPad, statSlot, ref, sum, blockMax);
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

    /**
     * {@code acc[r] = alpha[r] * acc[r] + sum_tt p[tt][r] * V[tt]}, four query vectors per value load; probability
     * {@code (tt, r)} at {@code s[tt * ts + r * rs]} (the lane-wise layout, or the row-major one of {@link #dotLogits}).
     */
    static void accumulate(Scratch sc, Scratch.Branch br, Chunk v, int n, int rCount, int ts, int rs, int dim) {
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
                    int p = tt * ts + r * rs;
                    FloatVector p0 = FloatVector.broadcast(F, s[p]), p1 = FloatVector.broadcast(F, s[p + rs]);
                    FloatVector p2 = FloatVector.broadcast(F, s[p + 2 * rs]), p3 = FloatVector.broadcast(F, s[p + 3 * rs]);
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
                    int p = tt * ts + r * rs;
                    a0 = fma(x, FloatVector.broadcast(F, s[p]), a0);
                    a1 = fma(x, FloatVector.broadcast(F, s[p + rs]), a1);
                    a2 = fma(x, FloatVector.broadcast(F, s[p + 2 * rs]), a2);
                    a3 = fma(x, FloatVector.broadcast(F, s[p + 3 * rs]), a3);
                }
                a0.intoArray(acc, o0 + d);
                a1.intoArray(acc, o1 + d);
                a2.intoArray(acc, o2 + d);
                a3.intoArray(acc, o3 + d);
            }
            for (int d = dv; d < dim; d++) {
                for (int tt = 0; tt < n; tt++) {
                    float x = va[v.base() + tt * stride + d];
                    int p = tt * ts + r * rs;
                    acc[o0 + d] += s[p] * x;
                    acc[o1 + d] += s[p + rs] * x;
                    acc[o2 + d] += s[p + 2 * rs] * x;
                    acc[o3 + d] += s[p + 3 * rs] * x;
                }
            }
        }
        for (; r < rCount; r++) accumulateOne(acc, s, v, n, r, ts, rs, dim);
    }

    /**
     * Query vector {@code r} alone (past a multiple of four). Its own method for the reason given at {@link #logits}:
     * a decode of a 2-head group after a prefill otherwise ran this loop boxed.
     */
    private static void accumulateOne(float[] acc, float[] s, Chunk v, int n, int r, int ts, int rs, int dim) {
        float[] va = v.array();
        int stride = v.stride(), o = r * dim, dv = F.loopBound(dim);
        for (int d = 0; d < dv; d += LANES) {
            FloatVector a0 = FloatVector.fromArray(F, acc, o + d);
            for (int tt = 0; tt < n; tt++) a0 = fma(FloatVector.fromArray(F, va, v.base() + tt * stride + d), FloatVector.broadcast(F, s[tt * ts + r * rs]), a0);
            a0.intoArray(acc, o + d);
        }
        for (int d = dv; d < dim; d++) {
            for (int tt = 0; tt < n; tt++) acc[o + d] += s[tt * ts + r * rs] * va[v.base() + tt * stride + d];
        }
    }

    /** Shorts of as many lanes as the float species, and the ints they widen to. */
    private static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 2)));
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));

    /**
     * bfloat16 to float: the 16 bits become the top half of the float's. Sign-extending to int and shifting left by 16
     * leaves exactly those bits (the extension is shifted out).
     */
    static void widenBf16(short[] src, int from, float[] dst, int at, int len) {
        int i = 0;
        if (SHORTS.length() == LANES) {
            for (int bound = F.loopBound(len); i < bound; i += LANES) {
                ((IntVector) ShortVector.fromArray(SHORTS, src, from + i).convertShape(VectorOperators.S2I, INTS, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, at + i);
            }
        }
        for (; i < len; i++) dst[at + i] = Float.intBitsToFloat((src[from + i] & 0xFFFF) << 16);
    }

    private static void scale(float[] a, int from, int len, float f) {
        int i = 0;
        for (int bound = F.loopBound(len); i < bound; i += LANES) {
            FloatVector.fromArray(F, a, from + i).mul(f).intoArray(a, from + i);
        }
        for (; i < len; i++) a[from + i] *= f;
    }
}
