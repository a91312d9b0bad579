package org.hysparse.backend.cpu;

/**
 * One worker thread's buffers, grown on demand and reused by every task that thread runs, so the decode
 * path allocates nothing in proportion to T once warm.
 */
final class Scratch {
    /** Online-softmax state of one attention branch for {@code rPad} query vectors. */
    static final class Branch {
        float[] m = new float[0];
        float[] l = new float[0];
        float[] acc = new float[0];
        /** Each query vector's sink logit (SPEC 3), -infinity for none: it joins the denominator at the end. */
        float[] sink = new float[0];

        void reset(int rPad, int dim) {
            if (m.length < rPad) {
                m = new float[rPad];
                l = new float[rPad];
                sink = new float[rPad];
            }
            if (acc.length < rPad * dim) acc = new float[rPad * dim];
            java.util.Arrays.fill(m, 0, rPad, Float.NEGATIVE_INFINITY);
            java.util.Arrays.fill(sink, 0, rPad, Float.NEGATIVE_INFINITY);
            java.util.Arrays.fill(l, 0, rPad, 0f);
            java.util.Arrays.fill(acc, 0, rPad * dim, 0f);
        }
    }

    final Branch sel = new Branch();
    final Branch swa = new Branch();
    /** Queries of the task, pre-scaled and transposed: {@code qt[d * rPad + r]}. */
    float[] qt = new float[0];
    /** The same queries row by row, {@code qr[r * D + d]}, for tasks with fewer query vectors than lanes. */
    float[] qr = new float[0];
    /**
     * Logits, then probabilities, of one chunk: {@code s[tt * rPad + r]}, or row-major {@code s[r * n + tt]} for
     * decode-sized tasks on the Vector API path (see {@link FlashKernel#consume}).
     */
    float[] s = new float[0];
    float[] alpha = new float[0];
    float[] blockSum = new float[0];
    int[] lo = new int[0];
    int[] hi = new int[0];
    /**
     * Per block: the reference maximum and the partial sum relative to it (block mass), and the block's
     * own largest logit (block max probability), {@code [block][rPad]}.
     */
    float[] statRef = new float[0];
    float[] statSum = new float[0];
    float[] statMax = new float[0];
    /** 16-bit KV rows converted to float: {@code [chunk][D]}. */
    float[] kConv = new float[0];
    float[] vConv = new float[0];

    void ensure(int rPad, int dim, int chunk, int statBlocks) {
        if (qt.length < dim * rPad) qt = new float[dim * rPad];
        if (qr.length < dim * rPad) qr = new float[dim * rPad];
        if (s.length < chunk * rPad) s = new float[chunk * rPad];
        if (alpha.length < rPad) {
            alpha = new float[rPad];
            blockSum = new float[rPad];
            lo = new int[rPad];
            hi = new int[rPad];
        }
        if (statRef.length < statBlocks * rPad) {
            statRef = new float[statBlocks * rPad];
            statSum = new float[statBlocks * rPad];
            statMax = new float[statBlocks * rPad];
        }
        if (kConv.length < chunk * dim) {
            kConv = new float[chunk * dim];
            vConv = new float[chunk * dim];
        }
    }
}
