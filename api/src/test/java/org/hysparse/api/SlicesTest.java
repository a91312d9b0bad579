package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** Slices covers a range exactly once, in parts of the documented sizes, and passes a part's failure on. */
class SlicesTest {
    @Test
    void everyIndexRunsExactlyOnce() {
        for (int n : new int[] {0, 1, Slices.PARALLEL - 1, Slices.PARALLEL, 2 * Slices.PARALLEL + 3}) {
            AtomicIntegerArray seen = new AtomicIntegerArray(n);
            Slices.run(n, (lo, hi) -> {
                assertTrue(0 <= lo && lo <= hi && hi <= n, "slice [" + lo + ", " + hi + ") of " + n);
                for (int i = lo; i < hi; i++) seen.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "n " + n + ", index " + i);
        }
    }

    @Test
    void smallRangesRunWholeAndLargeOnesInPartsOfAQuarterThresholdOrMore() {
        assertEquals(1, Slices.count(Slices.PARALLEL - 1));
        int n = 64 * Slices.PARALLEL;
        int parts = Slices.count(n);
        assertEquals(Math.min(java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 1, 256), parts);
        assertTrue(Slices.count(Slices.PARALLEL) <= 4, "no part under a quarter of the threshold");
    }

    @Test
    void aFailingPartFailsTheRun() {
        int n = 3 * Slices.PARALLEL;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Slices.run(n, (lo, hi) -> {
            if (lo <= n - 1 && n - 1 < hi) throw new IllegalStateException("last part");
        }));
        assertEquals("last part", e.getMessage());
    }
}
