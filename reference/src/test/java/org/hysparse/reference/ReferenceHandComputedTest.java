package org.hysparse.reference;

import static org.junit.jupiter.api.Assertions.*;

import org.hysparse.api.*;
import org.junit.jupiter.api.Test;

/** Tiny cases whose answers are worked out in the test itself. */
class ReferenceHandComputedTest {
    private final ReferenceBackend ref = new ReferenceBackend();

    @Test
    void threeTokensOneHead() {
        // D = 2, scale 1. q = (1, 0); keys (1,0), (0,1), (2,0) -> logits 1, 0, 2.
        try (KvCache c = new KvCache(1, 2, 16, KvPrecision.FLOAT32)) {
            c.append(new float[] {1, 0, 0, 1, 2, 0}, new float[] {1, 2, 3, 4, 5, 6}, 3);
            Queries q = new Queries(new float[] {1, 0}, 1, 1, 2, new int[] {2});
            OracleOutput o = ref.oracle(new OracleRequest(q, c, BlockGeometry.of(16), 1f));
            double z = Math.exp(1) + Math.exp(0) + Math.exp(2);
            double p0 = Math.exp(1) / z, p1 = 1 / z, p2 = Math.exp(2) / z;
            assertEquals(p0 * 1 + p1 * 3 + p2 * 5, o.out()[0], 1e-6);
            assertEquals(p0 * 2 + p1 * 4 + p2 * 6, o.out()[1], 1e-6);
            assertEquals(1f, o.scores().get(0, 0, 0), 1e-7, "one block holds all the mass");
        }
    }

    @Test
    void causalMaskHidesLaterTokens() {
        // Row at position 1 of 3 tokens: only keys 0 and 1 count, logits 1 and 0.
        try (KvCache c = new KvCache(1, 2, 16, KvPrecision.FLOAT32)) {
            c.append(new float[] {1, 0, 0, 1, 50, 0}, new float[] {1, 0, 0, 1, 100, 100}, 3);
            Queries q = new Queries(new float[] {1, 0}, 1, 1, 2, new int[] {1});
            OracleOutput o = ref.oracle(new OracleRequest(q, c, BlockGeometry.of(16), 1f));
            double p0 = Math.exp(1) / (Math.exp(1) + 1);
            assertEquals(p0, o.out()[0], 1e-6);
            assertEquals(1 - p0, o.out()[1], 1e-6);
        }
    }

    @Test
    void uniformAttentionSplitsMassByBlockLength() {
        // 20 identical keys: p = 1/20 each; block 0 (16 tokens) gets 16/20, block 1 gets 4/20.
        try (KvCache c = new KvCache(1, 2, 16, KvPrecision.FLOAT32)) {
            float[] k = new float[40], v = new float[40];
            for (int t = 0; t < 20; t++) { k[2 * t] = 1; v[2 * t] = t; }
            c.append(k, v, 20);
            Queries q = new Queries(new float[] {1, 1}, 1, 1, 2, new int[] {19});
            OracleOutput o = ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16)));
            assertEquals(0.8f, o.scores().get(0, 0, 0), 1e-7);
            assertEquals(0.2f, o.scores().get(0, 0, 1), 1e-7);
            assertEquals(9.5, o.out()[0], 1e-5, "mean of 0..19");
        }
    }

    @Test
    void sparseWindowBranchOverTheLastTwoPositions() {
        // 4 tokens, W = 2, gSel = 0, gSwa = 1: attention over positions 2, 3 of the SWA cache only.
        try (KvCache c = new KvCache(1, 2, 16, KvPrecision.FLOAT32);
             SwaCache w = new SwaCache(1, 2, 2, KvPrecision.FLOAT32)) {
            c.append(new float[8], new float[8], 4);
            w.append(new float[] {9, 9, 9, 9, 1, 0, 0, 0}, new float[] {7, 7, 7, 7, 10, 0, 0, 20}, 4);
            Queries q = new Queries(new float[] {2, 0}, 1, 1, 2, new int[] {3});
            BlockScores s = ref.oracle(new OracleRequest(q, c, BlockGeometry.of(16), 1f)).scores();
            BlockSelection sel = ref.select(new SelectionRequest(s, SelectionPolicy.TopK.of(1)));
            float[] out = ref.sparse(new SparseRequest(q, c.view(), sel, w, 2, new float[] {0}, new float[] {1}, 1f));
            double p2 = Math.exp(2) / (Math.exp(2) + 1);
            assertEquals(p2 * 10, out[0], 1e-5);
            assertEquals((1 - p2) * 20, out[1], 1e-5);
        }
    }

    @Test
    void topKKeepsSinkLocalThenHighestScoreTiesToLowerIndex() {
        // One query block seeing 6 blocks; S = [.05, .3, .1, .3, .05, .2]. k = 4: sink 0, local 5, then 1 and 3.
        BlockGeometry g = BlockGeometry.of(16);
        QueryBlocks qbs = QueryBlocks.of(new int[] {95}, 16);
        BlockScores s = new BlockScores(g, qbs, 1, 6, new float[] {.05f, .3f, .1f, .3f, .05f, .2f});
        assertArrayEquals(new int[] {0, 1, 3, 5}, ref.select(new SelectionRequest(s, SelectionPolicy.TopK.of(4))).blocks(0, 0));
        assertArrayEquals(new int[] {0, 1, 5}, ref.select(new SelectionRequest(s, SelectionPolicy.TopK.of(3))).blocks(0, 0),
                "tie between 1 and 3 goes to the lower index");
        assertArrayEquals(new int[] {1, 3}, ref.select(new SelectionRequest(s, new SelectionPolicy.TopK(2, false, 0))).blocks(0, 0));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, ref.select(new SelectionRequest(s, SelectionPolicy.TopK.of(99))).blocks(0, 0));
        // Mass target 0.25: forced 0 and 5 leave .75 out; add 1 (.45 left), 3 (.15 left): done.
        assertArrayEquals(new int[] {0, 1, 3, 5},
                ref.select(new SelectionRequest(s, SelectionPolicy.MassTarget.of(0.25, 6))).blocks(0, 0));
        assertArrayEquals(new int[] {0, 1, 5},
                ref.select(new SelectionRequest(s, SelectionPolicy.MassTarget.of(0.25, 3))).blocks(0, 0), "kMax caps it");
    }
}
