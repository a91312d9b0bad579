package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class SwaPoolTest {
    private static float[] rows(int tokens, float x) {
        float[] a = new float[tokens * 2 * 4];
        java.util.Arrays.fill(a, x);
        for (int i = 0; i < a.length; i++) a[i] += i * 0.001f;
        return a;
    }

    @Test
    void ringsAreReusedAfterCloseAndReadAsTheirOwn() {
        try (SwaPool pool = new SwaPool(2, 4, 8, KvPrecision.FLOAT32)) {
            SwaCache a = pool.newRing(), b = pool.newRing();
            a.append(rows(20, 1f), rows(20, 1f), 20);
            b.append(rows(3, 5f), rows(3, 5f), 3);
            assertEquals(2, pool.ringsAllocated());
            assertEquals(12, a.firstPosition(), "a ring keeps the last W tokens");
            a.close();
            assertEquals(1, pool.ringsInUse());
            SwaCache c = pool.newRing();
            assertEquals(2, pool.ringsAllocated(), "a's buffers are reused, none allocated");
            assertEquals(0, c.length(), "a reused ring starts empty");
            c.append(rows(2, 9f), rows(2, 9f), 2);
            float[] k = new float[4];
            c.readKey(1, 1, k);
            assertEquals(9f, k[0], 0.1f, "it reads its own tokens");
            b.readKey(2, 0, k);
            assertEquals(5f, k[0], 0.1f, "the neighbour is untouched");
        }
    }

    @Test
    void aShrunkRingLeavesThePoolAndClosingThePoolClosesRings() {
        SwaPool pool = new SwaPool(2, 4, 8, KvPrecision.FLOAT16);
        SwaCache a = pool.newRing(), b = pool.newRing();
        a.append(rows(8, 1f), rows(8, 1f), 8);
        a.shrink(4);
        assertEquals(1, pool.ringsInUse(), "the shrunk ring holds buffers of its own now");
        assertEquals(4, a.capacity());
        pool.close();
        assertThrows(IllegalStateException.class, b::length);
        assertEquals(8, a.length(), "a ring that left the pool is its own");
        assertThrows(IllegalStateException.class, pool::newRing);
    }
}
