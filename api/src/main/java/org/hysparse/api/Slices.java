package org.hysparse.api;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * A pass over {@code [0, n)} split into slices on the common pool and the calling thread, for passes over arrays large
 * enough that one core's memory bandwidth bounds them (a prefill's queries: 8k rows of 32 heads of 128, 134 MB): the
 * input checks ({@link Checks}) and a device backend's host copies. Below {@code least} elements the pass runs whole on
 * the calling thread: there the pool's hand-off costs more than it saves, and it allocates.
 */
public final class Slices {
    private Slices() {
    }

    /** Elements {@code [lo, hi)} of a pass. */
    public interface Slice {
        void run(int lo, int hi);
    }

    /** Whether elements {@code [lo, hi)} pass. */
    public interface Test {
        boolean test(int lo, int hi);
    }

    /** Slices of {@code n} elements: 1 below {@code least}, else one a worker of the common pool and the calling thread, none smaller than {@code least / 4}. */
    public static int count(int n, int least) {
        if (n < least) return 1;
        return Math.max(1, Math.min(ForkJoinPool.getCommonPoolParallelism() + 1, n / (least / 4)));
    }

    /** Runs {@code slice} over {@code [0, n)} in {@link #count} parts. */
    public static void forEach(int n, int least, Slice slice) {
        int slices = count(n, least);
        if (slices == 1) {
            slice.run(0, n);
            return;
        }
        IntStream.range(0, slices).parallel().forEach(k -> slice.run(from(n, k, slices), from(n, k + 1, slices)));
    }

    /** Whether {@code test} holds on every one of the {@link #count} parts of {@code [0, n)}. */
    public static boolean allMatch(int n, int least, Test test) {
        int slices = count(n, least);
        if (slices == 1) return test.test(0, n);
        return IntStream.range(0, slices).parallel().allMatch(k -> test.test(from(n, k, slices), from(n, k + 1, slices)));
    }

    /** Where slice {@code k} of {@code slices} of {@code [0, n)} starts. */
    private static int from(int n, int k, int slices) {
        return (int) ((long) n * k / slices);
    }
}
