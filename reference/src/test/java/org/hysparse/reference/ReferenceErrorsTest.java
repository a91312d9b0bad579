package org.hysparse.reference;

import static org.hysparse.reference.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.Random;
import org.hysparse.api.*;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every SPEC "Errors" case: IllegalArgumentException naming the argument, outputs untouched. */
class ReferenceErrorsTest {
    private final ReferenceBackend ref = new ReferenceBackend();
    private final Random rnd = new Random(77);

    private static void fails(String argument, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(argument), "message should name '" + argument + "': " + e.getMessage());
        assertTrue(e.getMessage().contains("expected"), e.getMessage());
    }

    @Test
    void oracleRejectsBadInputAndLeavesOutputsAlone() {
        try (KvCache c = cache(rnd, 40, 2, 16, 16)) {
            Queries q = lastRows(rnd, 2, 4, 16, 40);
            OracleRequest good = OracleRequest.of(q, c, BlockGeometry.of(16));
            OracleOutput out = OracleOutput.allocate(good);
            Arrays.fill(out.out(), 7f);
            fails("heads", () -> ref.oracle(OracleRequest.of(lastRows(rnd, 1, 3, 16, 40), c, BlockGeometry.of(16)), out));
            fails("q", () -> ref.oracle(OracleRequest.of(lastRows(rnd, 1, 4, 32, 40), c, BlockGeometry.of(16))));
            fails("positions", () -> ref.oracle(OracleRequest.of(lastRows(rnd, 1, 4, 16, 41), c, BlockGeometry.of(16))));
            fails("positions", () -> new Queries(new float[32], 2, 1, 16, new int[] {5, 5}));
            fails("blockSize", () -> BlockGeometry.of(48));
            fails("blockSize", () -> ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(32)), out));
            fails("scale", () -> ref.oracle(new OracleRequest(q, c, BlockGeometry.of(16), Float.NaN), out));
            float[] nan = q.data().clone();
            nan[5] = Float.POSITIVE_INFINITY;
            fails("q", () -> ref.oracle(OracleRequest.of(new Queries(nan, 2, 4, 16, q.positions()), c, BlockGeometry.of(16)), out));
            fails("out", () -> ref.oracle(good, new OracleOutput(new float[3], out.scores())));
            for (float f : out.out()) assertEquals(7f, f, "output buffer must be untouched after an error");
            assertEquals(40, c.length());
        }
    }

    @Test
    void selectionAndSparseRejectBadInput() {
        try (KvCache c = cache(rnd, 40, 2, 16, 16); SwaCache w = new SwaCache(2, 16, 8, KvPrecision.FLOAT32)) {
            w.append(gaussian(rnd, 40 * 32), gaussian(rnd, 40 * 32), 40);
            Queries q = lastRows(rnd, 1, 4, 16, 40);
            BlockScores s = ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16))).scores();
            fails("k", () -> SelectionPolicy.TopK.of(0));
            fails("delta", () -> SelectionPolicy.MassTarget.of(1.5, 4));
            float[] bad = s.data().clone();
            bad[0] = Float.NaN;
            fails("scores", () -> ref.select(new SelectionRequest(new BlockScores(s.mode(), s.geometry(), s.queryBlocks(), 2, s.kvBlocks(), bad),
                    SelectionPolicy.TopK.of(2))));
            BlockSelection sel = ref.select(new SelectionRequest(s, SelectionPolicy.TopK.of(2)));
            float[] half = {0.5f, 0.5f, 0.5f, 0.5f};
            float[] out = new float[4 * 16];
            Arrays.fill(out, 3f);
            BlockSelection outOfRange = new BlockSelection(sel.geometry(), sel.queryBlocks(), 2, new int[][] {{0, 3}, {1}});
            fails("selection", () -> ref.sparse(SparseRequest.of(q, c.view(), outOfRange, w, 8, half, half), out));
            BlockSelection unsorted = new BlockSelection(sel.geometry(), sel.queryBlocks(), 2, new int[][] {{1, 0}, {1}});
            fails("selection", () -> ref.sparse(SparseRequest.of(q, c.view(), unsorted, w, 8, half, half), out));
            fails("gateSel", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, new float[] {0.5f, Float.NaN, 0, 0}, half), out));
            fails("gateSwa", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, half, new float[3]), out));
            fails("swa", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, null, 8, half, half), out));
            fails("swa", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 16, half, half), out));
            fails("window", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, -1, half, half), out));
            fails("out", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, half, half), new float[5]));
            for (float f : out) assertEquals(3f, f, "output buffer must be untouched after an error");
            fails("selection", () -> ref.droppedMass(DroppedMassRequest.of(q, c, outOfRange)));
            fails("gateSel", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, new float[4 * 16 + 1], half), out));
            float[] channels = new float[4 * 16];
            Arrays.fill(channels, 0.5f);
            ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, channels, half), new float[4 * 16]);
            channels[17] = 1.5f;
            fails("gateSel", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, channels, half), out));
            float[] sinks = {0.5f, -1f, 2f, 0f};
            fails("sinkSel", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, half, half).withSinks(new float[3], null), out));
            fails("sinkSwa", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, half, half)
                    .withSinks(sinks, new float[] {0, Float.NaN, 0, 0}), out));
            fails("sinkSwa", () -> ref.sparse(SparseRequest.of(q, c.view(), sel, w, 8, half, half)
                    .withSinks(sinks, new float[] {0, 0, Float.NEGATIVE_INFINITY, 0}), out));
            for (float f : out) assertEquals(3f, f, "output buffer must be untouched after an error");
            fails("sink", () -> ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16)).withSink(new float[] {Float.POSITIVE_INFINITY, 0, 0, 0})));
            fails("sink", () -> ref.droppedMass(DroppedMassRequest.of(q, c, sel).withSink(new float[5])));
            // Mass targeting needs masses: over MAX scores (the default) it names the mode.
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ref.select(new SelectionRequest(s, SelectionPolicy.MassTarget.of(0.1, 4))));
            assertTrue(e.getMessage().contains("MASS") && e.getMessage().contains("MAX"), e.getMessage());
            BlockScores masses = ref.oracle(OracleRequest.of(q, c, BlockGeometry.of(16)).withScores(ScoreMode.MASS)).scores();
            assertEquals(ScoreMode.MASS, masses.mode());
            ref.select(new SelectionRequest(masses, SelectionPolicy.MassTarget.of(0.1, 4)));
        }
    }
}
