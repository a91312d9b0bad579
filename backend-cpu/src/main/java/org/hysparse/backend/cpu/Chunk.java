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

    /** The system property that turns {@link #touch} off ({@code false}), to measure what it brings. */
    static final String TOUCH_PROPERTY = "hysparse.cpu.touchAhead";
    static final boolean TOUCH = !"false".equals(System.getProperty(TOUCH_PROPERTY, "").trim());
    /** Where touched values go, so that the JIT keeps the loads. */
    private static volatile float touched;

    /**
     * Loads one number of every 64-byte line of a head's K and V rows {@code t0 .. t0+n-1}, before the chunk before
     * them is computed. Java has no prefetch instruction, and a block of one head is a 32 KB run in a page of its
     * own (fp32, D 128), so the hardware prefetchers, which do not cross 4 KB pages, restart on every page: a
     * decode thread then waits out one memory latency after another. These loads are independent of each other and
     * of the arithmetic, so the core keeps many of them in flight and the next chunk arrives while this one is
     * computed. Four sums, so that no long chain of adds holds them back.
     */
    static void touch(KvSource src, int head, int t0, int n) {
        if (!TOUCH || n <= 0) return;
        int base = src.offset(t0, head), len = (n - 1) * src.positionStride() + src.headDim();
        touched = touch(src.keyPage(t0), base, len) + touch(src.valuePage(t0), base, len);
    }

    private static float touch(KvPage page, int base, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        switch (page) {
            case KvPage.F32 f -> {
                float[] a = f.data();
                int i = 0;
                for (; i + 64 <= len; i += 64) {
                    s0 += a[base + i];
                    s1 += a[base + i + 16];
                    s2 += a[base + i + 32];
                    s3 += a[base + i + 48];
                }
                for (; i < len; i += 16) s0 += a[base + i];
            }
            case KvPage.Half h -> {
                short[] a = h.data();
                int i = 0;
                for (; i + 128 <= len; i += 128) {
                    s0 += a[base + i];
                    s1 += a[base + i + 32];
                    s2 += a[base + i + 64];
                    s3 += a[base + i + 96];
                }
                for (; i < len; i += 32) s0 += a[base + i];
            }
        }
        return (s0 + s1) + (s2 + s3);
    }
}
