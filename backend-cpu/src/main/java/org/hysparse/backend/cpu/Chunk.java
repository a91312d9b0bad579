package org.hysparse.backend.cpu;

import org.hysparse.api.KvCache;
import org.hysparse.api.KvCacheView;
import org.hysparse.api.KvPage;
import org.hysparse.api.KvSource;
import org.hysparse.api.SwaCache;

/**
 * Where {@code n} consecutive KV rows of one head live: element {@code d} of row {@code t0 + tt} is
 * {@code array[base + tt * stride + d]}. float32 rows are read in place from the cache's own pages
 * (the view is never copied); 16-bit rows are converted once into the thread's scratch.
 */
record Chunk(float[] array, int base, int stride) {

    static Chunk keys(KvSource src, int head, int t0, int n, Scratch sc) {
        return of(src.keyPage(t0), src.offset(t0, head), src.positionStride(), src.headDim(), n, sc.kConv);
    }

    static Chunk values(KvSource src, int head, int t0, int n, Scratch sc) {
        return of(src.valuePage(t0), src.offset(t0, head), src.positionStride(), src.headDim(), n, sc.vConv);
    }

    private static Chunk of(KvPage page, int base, int stride, int dim, int n, float[] conv) {
        return switch (page) {
            case KvPage.F32 f -> new Chunk(f.data(), base, stride);
            case KvPage.Half h -> {
                // A head's rows of a block are contiguous in a page: one conversion loop over all of them, which the JIT
                // vectorises whole, rather than one short loop (with its pre- and post-loop) per row.
                if (stride == dim) widen(h, base, conv, 0, n * dim);
                else for (int tt = 0; tt < n; tt++) widen(h, base + tt * stride, conv, tt * dim, dim);
                yield new Chunk(conv, 0, dim);
            }
        };
    }

    /**
     * 16-bit numbers to float. C2 vectorises the page's own float16 loop by itself (one conversion instruction per
     * vector), but not bfloat16's shift-and-reinterpret, which ran one number at a time: the Vector API does that one.
     */
    private static void widen(KvPage.Half h, int from, float[] dst, int at, int len) {
        if (h.precision() == org.hysparse.api.KvPrecision.BFLOAT16 && !FlashKernel.PLAIN) VectorKernel.widenBf16(h.data(), from, dst, at, len);
        else h.read(from, dst, at, len);
    }

    /** Rows from {@code t0} that sit contiguously in one page (a cache block, or the ring before it wraps). */
    static int contiguous(KvSource src, int t0) {
        int period = switch (src) {
            case KvCache c -> c.blockSize();
            case KvCacheView v -> v.blockSize();
            case SwaCache s -> s.capacity();
        };
        return period - t0 % period;
    }
}
