package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class KvCacheTest {
    private static float[] random(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    @Test
    void appendsAcrossPagesWithoutMovingEarlierOnes() {
        Random rnd = new Random(1);
        try (KvCache c = new KvCache(2, 16, 16, KvPrecision.FLOAT32)) {
            float[] k = random(rnd, 20 * 32), v = random(rnd, 20 * 32);
            c.append(k, v, 20);
            KvPage first = c.keyBlock(0);
            c.append(random(rnd, 30 * 32), random(rnd, 30 * 32), 30);
            assertSame(first, c.keyBlock(0), "appending must not move existing pages");
            assertEquals(50, c.length());
            assertEquals(4, c.blockCount());
            float[] row = new float[16];
            c.readKey(17, 1, row);
            for (int d = 0; d < 16; d++) assertEquals(k[(17 * 2 + 1) * 16 + d], row[d]);
        }
    }

    @Test
    void viewSharesTheCacheMemoryAndSeesAppends() {
        Random rnd = new Random(2);
        try (KvCache c = new KvCache(1, 16, 16, KvPrecision.FLOAT32)) {
            c.append(random(rnd, 16), random(rnd, 16), 1);
            KvCacheView view = c.view();
            assertTrue(view.sharesWith(c));
            assertSame(c.keyPage(0), view.keyPage(0), "view must return the cache's own page, not a copy");
            assertEquals(0, view.ownedBytes());
            float[] k = random(rnd, 16);
            c.append(k, random(rnd, 16), 1);
            assertEquals(2, view.length(), "append must be visible through the view");
            float[] row = new float[16];
            view.readKey(1, 0, row);
            assertArrayEquals(k, row);
            ((KvPage.F32) c.keyPage(0)).data()[3] = 42f; // writes through the cache's memory show in the view
            assertEquals(42f, view.keyPage(0).get(3));
        }
    }

    @Test
    void bytesFollowSpec4() {
        Random rnd = new Random(3);
        for (KvPrecision p : KvPrecision.values()) {
            try (KvCache c = new KvCache(8, 128, 64, p)) {
                c.append(random(rnd, 100 * 8 * 128), random(rnd, 100 * 8 * 128), 100);
                assertEquals(2L * 100 * 8 * 128 * p.bytes(), c.bytes());
                assertEquals(2L * 128 * 8 * 128 * p.bytes(), c.reservedBytes(), "two whole pages of 64");
            }
        }
    }

    @Test
    void sixteenBitStorageRoundsToNearest() {
        float x = 1.0f + 1.0f / 1024 + 1.0f / 4096; // between two fp16 values, closer to the upper
        assertEquals(1.0f + 1.0f / 1024, KvPrecision.FLOAT16.roundTrip(x));
        assertEquals(1.0f, KvPrecision.BFLOAT16.roundTrip(1.0f + 1.0f / 512)); // tie goes to even
        assertEquals(1.0078125f, KvPrecision.BFLOAT16.roundTrip(1.0078125f));
        Random rnd = new Random(4);
        for (int i = 0; i < 1000; i++) {
            float v = (float) rnd.nextGaussian() * 100;
            assertEquals(v, KvPrecision.BFLOAT16.roundTrip(v), Math.abs(v) / 256);
            assertEquals(v, KvPrecision.FLOAT16.roundTrip(v), Math.abs(v) / 2048);
        }
    }

    @Test
    void swaRingKeepsTheLastCapacityTokens() {
        Random rnd = new Random(5);
        try (SwaCache s = new SwaCache(1, 16, 4, KvPrecision.FLOAT32)) {
            float[] k = random(rnd, 10 * 16);
            s.append(k, random(rnd, 10 * 16), 10);
            assertEquals(10, s.length());
            assertEquals(6, s.firstPosition());
            float[] row = new float[16];
            s.readKey(7, 0, row);
            for (int d = 0; d < 16; d++) assertEquals(k[7 * 16 + d], row[d]);
            assertThrows(IndexOutOfBoundsException.class, () -> s.readKey(5, 0, row));
            assertEquals(2L * 4 * 16 * 4, s.bytes());
            s.shrink(2);
            assertEquals(8, s.firstPosition());
            s.readKey(9, 0, row);
            for (int d = 0; d < 16; d++) assertEquals(k[9 * 16 + d], row[d]);
        }
    }

    @Test
    void badAppendLeavesTheCacheUnchanged() {
        try (KvCache c = new KvCache(1, 16, 16, KvPrecision.FLOAT32)) {
            float[] k = new float[32];
            k[20] = Float.NaN;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.append(k, new float[32], 2));
            assertTrue(e.getMessage().startsWith("k:"), e.getMessage());
            assertTrue(e.getMessage().contains("NaN"), e.getMessage());
            assertEquals(0, c.length());
            e = assertThrows(IllegalArgumentException.class, () -> c.append(new float[31], new float[32], 2));
            assertTrue(e.getMessage().contains("expected [2][1][16] = 32 elements but got 31"), e.getMessage());
        }
    }

    @Test
    void paperLayoutGivesNearlyTenTimesLessKv() {
        KvBudget b = new KvBudget(49, 5, 1L << 26, 128, 8, 128, KvPrecision.FLOAT32);
        assertEquals(9.8, b.reductionVsFullAttention(), 1e-3);
        assertEquals(b.hySparseBytes(), b.hybridSwaBytes());
        assertEquals(49L * 2 * (1L << 26) * 8 * 128 * 4, b.fullAttentionBytes());
        KvBudget shortCtx = new KvBudget(49, 5, 100, 128, 8, 128, KvPrecision.FLOAT16);
        assertEquals(1.0, shortCtx.reductionVsFullAttention(), 1e-12, "T <= W: every layer keeps all T tokens");
    }
}
