package org.hysparse.api;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Runs a pass over a large index range in slices on the common fork-join pool, for backends:
 * the host-side passes of a prefill-sized call (copies into and out of device buffers) touch the
 * whole query and output arrays (8k rows of 32 heads of 128: 134 MB each), and such a pass is bound by the host's
 * memory bandwidth, which one core does not reach.
 */
public final class Slices {
    private Slices() {
    }

    /** Ranges of at least this many elements run in slices; below it the pool's hand-off costs more than it saves. */
    public static final int PARALLEL = 1 << 20;

    /** Elements {@code [lo, hi)} of a range. */
    @FunctionalInterface
    public interface Slice {
        void run(int lo, int hi);
    }

    /**
     * Runs {@code slice} over {@code [0, n)}: whole on this thread below {@link #PARALLEL}, else in {@link #count}
     * parts on the common pool and this thread; returns when every part has run (a part's exception is rethrown).
     */
    public static void run(int n, Slice slice) {
        int slices = count(n);
        if (slices == 1) {
            slice.run(0, n);
            return;
        }
        IntStream.range(0, slices).parallel().forEach(k -> slice.run((int) ((long) n * k / slices), (int) ((long) n * (k + 1) / slices)));
    }

    /** One part a worker of the common pool and the calling thread, none smaller than {@link #PARALLEL} / 4. */
    static int count(int n) {
        if (n < PARALLEL) return 1;
        return Math.max(1, Math.min(ForkJoinPool.getCommonPoolParallelism() + 1, n / (PARALLEL / 4)));
    }
}
