package org.hysparse.reference;

import static org.hysparse.reference.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.Random;
import org.hysparse.api.*;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Properties SPEC.md implies, on seeded random inputs. */
class ReferencePropertiesTest {
    private final ReferenceBackend ref = new ReferenceBackend();

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {11, 12, 13})
    void eachRowsBlockMassesSumToOne(long seed) {
        Random rnd = new Random(seed);
        int t = 16 * 5 + 3;
        try (KvCache c = cache(rnd, t, 2, 16, 16)) {
            Queries q = lastRows(rnd, 7, 2, 16, t); // G = 1, Bq = 1: every S row is one row's masses
            OracleRequest r = OracleRequest.of(q, c, new BlockGeometry(16, 1));
            BlockScores s = ref.oracle(r.withScores(ScoreMode.MASS)).scores();
            BlockScores max = ref.oracle(r).scores();
            for (int h = 0; h < 2; h++) {
                for (int qb = 0; qb < s.queryBlocks().count(); qb++) {
                    double sum = 0;
                    for (int j = 0; j < s.kvBlocks(); j++) {
                        sum += s.get(h, qb, j);
                        // A block's largest probability is at most its mass, and at least its mean.
                        assertTrue(max.get(h, qb, j) <= s.get(h, qb, j) + 1e-7, "MAX <= MASS at " + j);
                        assertTrue(max.get(h, qb, j) * 16 >= s.get(h, qb, j) - 1e-6, "MAX >= MASS / B at " + j);
                    }
                    assertEquals(1.0, sum, 1e-6, "seed " + seed + " h " + h + " qb " + qb);
                }
            }
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {21, 22})
    void futureKeysNeverChangeAnOutput(long seed) {
        Random rnd = new Random(seed);
        try (KvCache c = cache(rnd, 40, 1, 16, 16)) {
            Queries q = lastRows(rnd, 5, 2, 16, 40);
            OracleOutput before = ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16)));
            c.append(gaussian(rnd, 30 * 16), gaussian(rnd, 30 * 16), 30);
            OracleRequest again = OracleRequest.of(q, c, BlockGeometry.of(16));
            OracleOutput after = ref.oracle(again);
            assertArrayEquals(before.out(), after.out());
            for (int j = 0; j < before.scores().kvBlocks(); j++) {
                assertEquals(before.scores().get(0, 0, j), after.scores().get(0, 0, j));
            }
            for (int j = before.scores().kvBlocks(); j < after.scores().kvBlocks(); j++) {
                assertEquals(0f, after.scores().get(0, 0, j), "blocks after every row score exactly 0");
            }
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {31, 32})
    void groupedQueryAttentionEqualsRepeatedKvHeads(long seed) {
        Random rnd = new Random(seed);
        int t = 37, d = 16;
        float[] k = gaussian(rnd, t * 2 * d), v = gaussian(rnd, t * 2 * d);
        float[] k4 = new float[t * 4 * d], v4 = new float[t * 4 * d];
        for (int tok = 0; tok < t; tok++) {
            for (int g = 0; g < 4; g++) {
                System.arraycopy(k, (tok * 2 + g / 2) * d, k4, (tok * 4 + g) * d, d);
                System.arraycopy(v, (tok * 2 + g / 2) * d, v4, (tok * 4 + g) * d, d);
            }
        }
        try (KvCache gqa = new KvCache(2, d, 16, KvPrecision.FLOAT32); KvCache mha = new KvCache(4, d, 16, KvPrecision.FLOAT32)) {
            gqa.append(k, v, t);
            mha.append(k4, v4, t);
            Queries q = lastRows(rnd, 3, 4, d, t);
            assertArrayEquals(ref.oracle(OracleRequest.of(q, mha, BlockGeometry.of(16))).out(),
                    ref.oracle(OracleRequest.of(q, gqa, BlockGeometry.of(16))).out());
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {41, 42})
    void selectingEveryVisibleBlockWithoutWindowIsFullAttention(long seed) {
        Random rnd = new Random(seed);
        int t = 16 * 6 + 5;
        try (KvCache c = cache(rnd, t, 2, 16, 16)) {
            Queries q = lastRows(rnd, 20, 4, 16, t);
            OracleOutput full = ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16)));
            BlockSelection all = ref.select(new SelectionRequest(full.scores(), SelectionPolicy.TopK.of(1000)));
            float[] ones = new float[20 * 4];
            Arrays.fill(ones, 1f);
            float[] out = ref.sparse(SparseRequest.of(q, c.view(), all, null, 0, ones, new float[20 * 4]));
            assertArrayEquals(full.out(), out, "exactly: same positions, same order, same float64 sums");
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {51, 52})
    void windowCoveringEverythingIsFullAttentionOfTheWindowCache(long seed) {
        Random rnd = new Random(seed);
        int t = 50;
        float[] kw = gaussian(rnd, t * 2 * 16), vw = gaussian(rnd, t * 2 * 16);
        try (KvCache c = cache(rnd, t, 2, 16, 16); KvCache asFull = new KvCache(2, 16, 16, KvPrecision.FLOAT32);
             SwaCache w = new SwaCache(2, 16, 64, KvPrecision.FLOAT32)) {
            asFull.append(kw, vw, t);
            w.append(kw, vw, t);
            Queries q = lastRows(rnd, 10, 4, 16, t);
            OracleOutput full = ref.oracle(OracleRequest.of(q, asFull, BlockGeometry.of(16)));
            BlockSelection sel = ref.select(new SelectionRequest(ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16))).scores(),
                    SelectionPolicy.TopK.of(1)));
            float[] ones = new float[40];
            Arrays.fill(ones, 1f);
            float[] out = ref.sparse(SparseRequest.of(q, c.view(), sel, w, 64, new float[40], ones));
            assertArrayEquals(full.out(), out);
        }
    }

    @ParameterizedTest(name = "seed {0}, delta {1}")
    @org.junit.jupiter.params.provider.CsvSource({"61, 0.05", "62, 0.2", "63, 0.01"})
    void massTargetedSelectionKeepsEveryRowsDroppedMassUnderTarget(long seed, double delta) {
        Random rnd = new Random(seed);
        int t = 16 * 12;
        try (KvCache c = cache(rnd, t, 2, 16, 16)) {
            float[] qd = gaussian(rnd, 32 * 4 * 16);
            for (int i = 0; i < qd.length; i++) qd[i] *= 3; // peakier attention than unit Gaussians give
            Queries q = Queries.last(qd, 32, 4, 16, t);
            OracleOutput full = ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16)).withScores(ScoreMode.MASS));
            BlockSelection sel = ref.select(new SelectionRequest(full.scores(), SelectionPolicy.MassTarget.of(delta, 1000)));
            DroppedMass dm = ref.droppedMass(DroppedMassRequest.of(q, c, sel));
            assertTrue(dm.max() <= delta + 1e-6, "max dropped mass " + dm.max() + " over target " + delta);
            assertTrue(dm.mean() <= dm.max());
            BlockSelection k1 = ref.select(new SelectionRequest(full.scores(), new SelectionPolicy.TopK(1, false, 0)));
            assertTrue(ref.droppedMass(DroppedMassRequest.of(q, c, k1)).max() > delta,
                    "a one-block selection must drop more than the target, or this test proves nothing");
        }
    }
}
