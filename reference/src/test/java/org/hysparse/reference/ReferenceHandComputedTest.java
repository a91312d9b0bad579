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
            assertEquals(p2, o.scores().get(0, 0, 0), 1e-7, "MAX: the largest probability, the key at logit 2");
            OracleOutput mass = ref.oracle(new OracleRequest(q, c, BlockGeometry.of(16), 1f).withScores(ScoreMode.MASS));
            assertEquals(1f, mass.scores().get(0, 0, 0), 1e-7, "MASS: one block holds all the mass");
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
            OracleOutput o = ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16)).withScores(ScoreMode.MASS));
            assertEquals(0.8f, o.scores().get(0, 0, 0), 1e-7);
            assertEquals(0.2f, o.scores().get(0, 0, 1), 1e-7);
            assertEquals(9.5, o.out()[0], 1e-5, "mean of 0..19");
            OracleOutput max = ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16)));
            assertEquals(ScoreMode.MAX, max.scores().mode(), "MAX is the default");
            assertEquals(0.05f, max.scores().get(0, 0, 0), 1e-7, "largest single probability, 1/20");
            assertEquals(0.05f, max.scores().get(0, 0, 1), 1e-7);
        }
    }

    @Test
    void maxProbabilityAndMassOrderBlocksDifferently() {
        // D = 1, scale 1, B = 16, 32 keys, row at 31. Block 0: one needle (logit ln 8) among 15 zeros;
        // block 1: 16 keys at logit ln 2. z = 8 + 15 + 32 = 55.
        // MAX: block 0 = 8/55 > block 1 = 2/55. MASS: block 0 = 23/55 < block 1 = 32/55.
        try (KvCache c = new KvCache(1, 1, 16, KvPrecision.FLOAT32)) {
            float[] k = new float[32], v = new float[32];
            k[3] = (float) Math.log(8);
            for (int t = 16; t < 32; t++) k[t] = (float) Math.log(2);
            c.append(k, v, 32);
            Queries q = new Queries(new float[] {1}, 1, 1, 1, new int[] {31});
            BlockScores max = ref.oracle(new OracleRequest(q, c, BlockGeometry.of(16), 1f)).scores();
            BlockScores mass = ref.oracle(new OracleRequest(q, c, BlockGeometry.of(16), 1f).withScores(ScoreMode.MASS)).scores();
            assertEquals(8.0 / 55, max.get(0, 0, 0), 1e-6);
            assertEquals(2.0 / 55, max.get(0, 0, 1), 1e-6);
            assertEquals(23.0 / 55, mass.get(0, 0, 0), 1e-6);
            assertEquals(32.0 / 55, mass.get(0, 0, 1), 1e-6);
            SelectionPolicy one = SelectionPolicy.TopK.paper(1);
            assertArrayEquals(new int[] {0}, ref.select(new SelectionRequest(max, one)).blocks(0, 0), "MAX picks the needle's block");
            assertArrayEquals(new int[] {1}, ref.select(new SelectionRequest(mass, one)).blocks(0, 0), "MASS picks the heavier block");
        }
    }

    @Test
    void aSinkEqualToTheKeysTakesHalfTheMass() {
        // Two keys with logits 0 and 0 (D = 1, q = 0), values 2 and 4; sink logit ln 2: denominator 1 + 1 + 2 = 4.
        // Each key gets 1/4, the sink 1/2 and no value: out = (2 + 4) / 4 = 1.5 (3 without the sink).
        try (KvCache c = new KvCache(1, 1, 16, KvPrecision.FLOAT32)) {
            c.append(new float[] {1, -1}, new float[] {2, 4}, 2);
            Queries q = new Queries(new float[] {0}, 1, 1, 1, new int[] {1});
            float[] sink = {(float) Math.log(2)};
            OracleRequest r = new OracleRequest(q, c, BlockGeometry.of(16), 1f).withSink(sink);
            OracleOutput o = ref.oracle(r);
            assertEquals(1.5, o.out()[0], 1e-6);
            assertEquals(0.25, o.scores().get(0, 0, 0), 1e-7, "largest key probability 1/4");
            assertEquals(0.5, ref.oracle(r.withScores(ScoreMode.MASS)).scores().get(0, 0, 0), 1e-7, "the keys' mass 1/2");
            assertEquals(3.0, ref.oracle(r.withSink(null)).out()[0], 1e-6);
            // A selection keeping the whole block drops nothing: the sink's half is no key's mass.
            BlockSelection all = ref.select(new SelectionRequest(o.scores(), SelectionPolicy.TopK.paper(1)));
            assertEquals(0, ref.droppedMass(DroppedMassRequest.of(q, c, all).withSink(sink)).max(), 1e-12);

            // The same in the sparse layer's branches: sinkSel halves oSel; sinkSwa over the window likewise.
            try (SwaCache w = new SwaCache(1, 1, 4, KvPrecision.FLOAT32)) {
                w.append(new float[] {1, -1}, new float[] {10, 20}, 2);
                float[] one = {1}, zero = {0};
                float[] sel = ref.sparse(new SparseRequest(q, c.view(), all, w, 2, one, zero, 1f).withSinks(sink, null));
                assertEquals(1.5, sel[0], 1e-6);
                float[] swa = ref.sparse(new SparseRequest(q, c.view(), all, w, 2, zero, one, 1f).withSinks(null, sink));
                assertEquals(7.5, swa[0], 1e-6, "(10 + 20) / 4");
            }
        }
    }

    @Test
    void aSinkAloneMakesAnEmptyBranchZero() {
        // A selection with no block: oSel has no key, so the sink takes everything and oSel = 0.
        try (KvCache c = new KvCache(1, 1, 16, KvPrecision.FLOAT32)) {
            c.append(new float[] {1, 1}, new float[] {5, 5}, 2);
            Queries q = new Queries(new float[] {1}, 1, 1, 1, new int[] {1});
            BlockSelection none = new BlockSelection(BlockGeometry.of(16), QueryBlocks.of(new int[] {1}, 16), 1, new int[][] {{}});
            float[] out = ref.sparse(new SparseRequest(q, c.view(), none, null, 0, new float[] {1}, new float[] {1}, 1f)
                    .withSinks(new float[] {3}, null));
            assertEquals(0f, out[0]);
        }
    }

    @Test
    void perChannelGatesWeighEachChannel() {
        // D = 2, one key, so oSel = oSwa = v = (2, 4) and (6, 8) in the window cache.
        // gSel = (0.25, 1), gSwa = (0.5, 0): out = (0.25*2 + 0.5*6, 1*4 + 0*8) = (3.5, 4).
        try (KvCache c = new KvCache(1, 2, 16, KvPrecision.FLOAT32);
             SwaCache w = new SwaCache(1, 2, 4, KvPrecision.FLOAT32)) {
            c.append(new float[] {1, 0}, new float[] {2, 4}, 1);
            w.append(new float[] {1, 0}, new float[] {6, 8}, 1);
            Queries q = new Queries(new float[] {1, 1}, 1, 1, 2, new int[] {0});
            BlockSelection sel = ref.select(new SelectionRequest(ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16))).scores(),
                    SelectionPolicy.TopK.paper()));
            float[] out = ref.sparse(SparseRequest.of(q, c.view(), sel, w, 4, new float[] {0.25f, 1}, new float[] {0.5f, 0}));
            assertEquals(3.5f, out[0], 1e-6);
            assertEquals(4f, out[1], 1e-6);
            float[] perHead = ref.sparse(SparseRequest.of(q, c.view(), sel, w, 4, new float[] {0.25f}, new float[] {0.5f}));
            assertEquals(0.25f * 2 + 0.5f * 6, perHead[0], 1e-6);
            assertEquals(0.25f * 4 + 0.5f * 8, perHead[1], 1e-6, "a per-head gate weighs every channel alike");
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
        BlockScores s = new BlockScores(ScoreMode.MASS, g, qbs, 1, 6, new float[] {.05f, .3f, .1f, .3f, .05f, .2f});
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
        assertArrayEquals(new int[] {1, 3, 5}, ref.select(new SelectionRequest(s, SelectionPolicy.TopK.paper(3))).blocks(0, 0),
                "the paper's policy forces nothing");
    }
}
