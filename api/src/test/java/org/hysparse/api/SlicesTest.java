package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class SlicesTest {
    @Test
    void slicesCoverEveryElementOnceAndSmallPassesRunWhole() {
        int least = 1 << 12;
        assertEquals(1, Slices.count(least - 1, least), "below least: whole on the calling thread");
        int n = 5 * least + 7;
        int expected = Math.min(ForkJoinPool.getCommonPoolParallelism() + 1, n / (least / 4));
        assertEquals(expected, Slices.count(n, least), "one a worker and the calling thread, none below least / 4");
        AtomicIntegerArray seen = new AtomicIntegerArray(n);
        Slices.forEach(n, least, (lo, hi) -> {
            for (int i = lo; i < hi; i++) seen.incrementAndGet(i);
        });
        for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "element " + i);
        assertTrue(Slices.allMatch(n, least, (lo, hi) -> hi > lo));
        assertFalse(Slices.allMatch(n, least, (lo, hi) -> !(lo <= n - 1 && n - 1 < hi)), "the slice holding the last element fails");
    }
}
