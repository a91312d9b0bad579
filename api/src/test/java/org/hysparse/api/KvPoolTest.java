package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class KvPoolTest {
    private static final int HKV = 2, D = 8, B = 16;
    private final Random rnd = new Random(5);

    private float[] rows(int tokens) {
        float[] a = new float[tokens * HKV * D];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    private static float[] key(KvSource s, int t, int h) {
        float[] k = new float[D];
        s.readKey(t, h, k);
        return k;
    }

    @Test
    void aForkSharesThePrefixAndCopiesTheSharedPartialPageBeforeWriting() {
        try (KvPool pool = new KvPool(HKV, D, B, KvPrecision.FLOAT32)) {
            KvCache a = pool.newSequence();
            a.append(rows(40), rows(40), 40); // pages for blocks 0, 1 full and 2 partial
            assertEquals(3, pool.pagesInUse());
            KvCache b = a.fork();
            assertArrayEquals(a.blockTable(), b.blockTable(), "a fork reads the same pages");
            assertEquals(3, pool.pagesInUse(), "a shared prompt is stored once");
            float[] before = key(a, 39, 1);
            b.append(rows(1), rows(1), 1);
            assertEquals(4, pool.pagesInUse(), "the shared partial page is copied for the writer only");
            assertEquals(a.blockTable()[0], b.blockTable()[0]);
            assertNotEquals(a.blockTable()[2], b.blockTable()[2]);
            assertArrayEquals(before, key(b, 39, 1), "the copy holds the same tokens");
            a.append(rows(1), rows(1), 1);
            assertArrayEquals(before, key(a, 39, 1));
            assertFalse(java.util.Arrays.equals(key(a, 40, 0), key(b, 40, 0)), "the two sequences diverge after the fork");
            assertEquals(4, pool.pagesInUse(), "a's page 2 is its own again: no further copy");
        }
    }

    @Test
    void closingReturnsPagesAtOnceAndTheyAreReused() {
        try (KvPool pool = new KvPool(HKV, D, B, KvPrecision.FLOAT16)) {
            KvCache a = pool.newSequence();
            a.append(rows(64), rows(64), 64);
            KvCache b = a.fork();
            a.close();
            assertEquals(4, pool.pagesInUse(), "pages shared with the fork stay");
            b.close();
            assertEquals(0, pool.pagesInUse());
            assertEquals(4, pool.freePages());
            KvCache c = pool.newSequence();
            c.append(rows(50), rows(50), 50);
            assertEquals(4, pool.pagesAllocated(), "freed pages are reused, none allocated");
            assertEquals(KvBudget.cacheBytes(4L * B, HKV, D, KvPrecision.FLOAT16), pool.bytesInUse());
            assertThrows(IllegalStateException.class, () -> a.view().length(), "a closed sequence cannot be read");
        }
    }

    @Test
    void aFullPoolRefusesAnAppendBeforeWritingAnything() {
        try (KvPool pool = new KvPool(HKV, D, B, KvPrecision.FLOAT32, 2)) {
            KvCache a = pool.newSequence();
            a.append(rows(20), rows(20), 20);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.append(rows(13), rows(13), 13));
            assertTrue(e.getMessage().startsWith("pool: expected room for 1 more pages but got 0"), e.getMessage());
            assertEquals(20, a.length(), "nothing appended");
            a.append(rows(12), rows(12), 12);
            assertEquals(32, a.length());
        }
    }

    @Test
    void closingThePoolClosesItsSequences() {
        KvPool pool = new KvPool(HKV, D, B, KvPrecision.BFLOAT16);
        KvCache a = pool.newSequence();
        a.append(rows(3), rows(3), 3);
        pool.close();
        assertThrows(IllegalStateException.class, a::length);
        assertThrows(IllegalStateException.class, pool::newSequence);
        assertEquals(0, pool.pagesAllocated(), "every page dropped at once");
    }

    @Test
    void aStandaloneCacheCanForkAndItsPoolLivesWhileAnySequenceDoes() {
        KvCache a = new KvCache(HKV, D, B, KvPrecision.FLOAT32);
        a.append(rows(17), rows(17), 17);
        KvCache b = a.fork();
        a.close();
        assertEquals(17, b.length());
        assertFalse(b.pool().isClosed());
        b.close();
        assertTrue(b.pool().isClosed(), "the private pool closes with its last sequence");
    }

    @Test
    void closeActionsRunOnceAtCloseAndAtOnceWhenAlreadyClosed() {
        KvCache c = new KvCache(HKV, D, B, KvPrecision.FLOAT32);
        int[] runs = new int[1];
        c.onClose(() -> runs[0]++);
        assertEquals(0, runs[0]);
        c.close();
        c.close();
        assertEquals(1, runs[0], "once, at the first close");
        c.onClose(() -> runs[0]++);
        assertEquals(2, runs[0], "a cache already closed runs it at once");
        try (KvPool pool = new KvPool(HKV, D, B, KvPrecision.FLOAT32)) {
            KvCache s = pool.newSequence();
            s.onClose(() -> runs[0]++);
        }
        assertEquals(3, runs[0], "closing the pool closes its sequences, with their actions");
    }
}
