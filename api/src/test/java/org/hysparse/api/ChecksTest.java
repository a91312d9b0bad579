package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * Checks and the kit share one tolerance: scores a conforming 16-bit backend may produce are accepted by select; the
 * finite check (a running minimum and maximum, then a search only when one is not finite) finds every NaN and infinity
 * and names the first; the gates' range check, the same way, every value outside [0, 1].
 */
class ChecksTest {
    private static SelectionRequest scoresAt(float v) {
        BlockGeometry g = BlockGeometry.of(16);
        QueryBlocks qb = QueryBlocks.of(new int[] {40}, g.queryBlockSize());
        BlockScores s = BlockScores.allocate(ScoreMode.MAX, g, qb, 1, 3);
        s.data()[0] = 0.25f;
        s.data()[1] = v;
        s.data()[2] = 0.5f;
        return new SelectionRequest(s, SelectionPolicy.TopK.paper(2));
    }

    @Test
    void scoresWithinTheLoosestKitToleranceAreAccepted() {
        Checks.selection(scoresAt(1f));
        Checks.selection(scoresAt((float) (1 + Tolerances.SCORE_ABS_16BIT * 0.9)));
        Checks.selection(scoresAt(Tolerances.SCORE_MAX));
    }

    @Test
    void scoresBeyondItAreRefusedNamingTheArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checks.selection(scoresAt(Math.nextUp(Tolerances.SCORE_MAX))));
        assertTrue(e.getMessage().startsWith("scores: ") && e.getMessage().contains("flat index 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Checks.selection(scoresAt(Float.NaN)));
        assertThrows(IllegalArgumentException.class, () -> Checks.selection(scoresAt(-1e-7f)));
    }

    /** Sizes under, at and past one loop of eight, and large ones with a ragged tail. */
    private static final int[] SIZES = {1, 7, 8, 9, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 12345};

    @Test
    void finiteValuesOfEveryKindPass() {
        java.util.Random rnd = new java.util.Random(43);
        for (int n : SIZES) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian() * 1e3f;
            float[] extremes = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, -0f, 0f, Float.MIN_NORMAL};
            for (int k = 0; k < extremes.length && k < n; k++) a[(int) ((long) n * k / extremes.length)] = extremes[k];
            Checks.finite("q", a, n);
        }
    }

    @Test
    void eachNonFiniteValueIsFoundAndTheFirstIsNamed() {
        java.util.Random rnd = new java.util.Random(44);
        for (int n : SIZES) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
            // The first and last element, both sides of sixteen edges spread over the array and a random index, with
            // each kind of non-finite value: every one of the eight sums and the tail loop gets one.
            int edges = Math.min(16, n);
            java.util.TreeSet<Integer> at = new java.util.TreeSet<>(java.util.List.of(0, n - 1, rnd.nextInt(n)));
            for (int k = 1; k < edges; k++) {
                at.add((int) ((long) n * k / edges));
                at.add((int) ((long) n * k / edges) - 1);
            }
            for (int i : at) {
                for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                    float was = a[i];
                    a[i] = bad;
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checks.finite("q", a, n), "n " + n + " index " + i);
                    assertEquals("q: expected finite values but got " + bad + " at index " + i, e.getMessage());
                    a[i] = was;
                }
            }
            // Two bad values: the message names the first.
            if (n > 2) {
                a[n - 1] = Float.NaN;
                a[n / 3] = Float.NEGATIVE_INFINITY;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checks.finite("k", a, n));
                assertEquals("k: expected finite values but got -Infinity at index " + (n / 3), e.getMessage());
                // Only the first n elements are checked.
                Checks.finite("k", a, n / 3);
            }
        }
    }

    @Test
    void largeArraysCheckedInSlicesGiveTheSameAnswer() {
        int n = Checks.PARALLEL_CHECK + 12345;
        java.util.Random rnd = new java.util.Random(45);
        float[] a = new float[n + 1];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian() * 1e3f;
        assertTrue(Checks.allFiniteInSlices(a, n));
        // Both sides of every edge of each slice count this n can have (slices of at least a quarter of PARALLEL_CHECK),
        // the ends and a random index.
        java.util.TreeSet<Integer> at = new java.util.TreeSet<>(java.util.List.of(0, n - 1, rnd.nextInt(n)));
        for (int slices = 2; slices <= n / (Checks.PARALLEL_CHECK / 4); slices++) {
            for (int k = 1; k < slices; k++) {
                at.add((int) ((long) n * k / slices));
                at.add((int) ((long) n * k / slices) - 1);
            }
        }
        for (int i : at) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float was = a[i];
                a[i] = bad;
                assertFalse(Checks.allFiniteInSlices(a, n), "index " + i + " " + bad);
                a[i] = was;
            }
        }
        // Only the first n elements are checked.
        a[n] = Float.NaN;
        assertTrue(Checks.allFiniteInSlices(a, n));
    }

    @Test
    void gatesOutsideTheUnitIntervalAreFoundAndTheFirstIsNamed() {
        // Per channel, 1024 rows of 32 heads of 128: PARALLEL_CHECK values, checked in slices; per head: on this thread.
        int rows = 1024, heads = 32, dim = 128;
        int[] positions = new int[rows];
        for (int i = 0; i < rows; i++) positions[i] = i;
        Queries q = new Queries(new float[rows * heads * dim], rows, heads, dim, positions);
        java.util.Random rnd = new java.util.Random(46);
        for (int n : new int[] {rows * heads, rows * heads * dim}) {
            float[] g = new float[n];
            for (int i = 0; i < n; i++) g[i] = rnd.nextFloat();
            float[] edges = {0f, -0f, 1f, Float.MIN_VALUE, Math.nextDown(1f)};
            for (int k = 0; k < edges.length; k++) g[k + 1] = edges[k];
            Checks.gate("gateSel", g, q);
            java.util.TreeSet<Integer> at = new java.util.TreeSet<>(java.util.List.of(0, n - 1, rnd.nextInt(n)));
            for (int slices = 2; slices <= 4; slices++) {
                for (int k = 1; k < slices; k++) {
                    at.add((int) ((long) n * k / slices));
                    at.add((int) ((long) n * k / slices) - 1);
                }
            }
            for (int i : at) {
                for (float bad : new float[] {Float.NaN, -Float.MIN_VALUE, Math.nextUp(1f), Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                    float was = g[i];
                    g[i] = bad;
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checks.gate("gateSel", g, q), "n " + n + " index " + i);
                    assertEquals("gateSel: expected values in [0, 1] but got " + bad + " at index " + i, e.getMessage());
                    g[i] = was;
                }
            }
        }
    }
}
