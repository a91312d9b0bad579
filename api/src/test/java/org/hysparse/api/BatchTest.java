package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BatchTest {
    private final Random rnd = new Random(3);

    private float[] gauss(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    @Test
    void rowStartsPackTheSequencesRowsInOrderAndChecksGuardTheBatch() {
        try (KvPool pool = new KvPool(1, 4, 16, KvPrecision.FLOAT32); KvPool other = new KvPool(1, 4, 16, KvPrecision.FLOAT32)) {
            KvCache a = pool.newSequence(), b = pool.newSequence(), c = other.newSequence();
            a.append(gauss(40), gauss(40), 10);
            b.append(gauss(80), gauss(80), 20);
            c.append(gauss(40), gauss(40), 10);
            OracleRequest ra = OracleRequest.of(Queries.last(gauss(4), 1, 1, 4, 10), a, BlockGeometry.of(16));
            OracleRequest rb = OracleRequest.of(Queries.last(gauss(24), 6, 1, 4, 20), b, BlockGeometry.of(16));
            OracleRequest rc = OracleRequest.of(Queries.last(gauss(4), 1, 1, 4, 10), c, BlockGeometry.of(16));
            OracleBatch batch = OracleBatch.of(ra, rb, ra);
            assertArrayEquals(new int[] {0, 1, 7, 8}, batch.rowStarts());
            List<OracleOutput> outs = List.of(OracleOutput.allocate(ra), OracleOutput.allocate(rb), OracleOutput.allocate(ra));
            Checks.oracleBatch(batch, outs);
            assertMessage("outputs: expected 3 (one a request) but got 2", () -> Checks.oracleBatch(batch, outs.subList(0, 2)));
            assertMessage("outputs[2]: expected buffers of its own but got those of outputs[0]",
                    () -> Checks.oracleBatch(batch, List.of(outs.get(0), outs.get(1), outs.get(0))));
            assertMessage("requests[1].kv: expected a sequence of the batch's pool",
                    () -> Checks.oracleBatch(OracleBatch.of(ra, rc), List.of(outs.get(0), OracleOutput.allocate(rc))));
            assertMessage("requests[1].out: expected", () -> Checks.oracleBatch(OracleBatch.of(ra, rb), List.of(outs.get(0), outs.get(0).out().length == 4
                    ? new OracleOutput(new float[3], outs.get(1).scores()) : outs.get(1))));
            assertMessage("requests: expected at least one request", () -> new OracleBatch(List.of()));
        }
    }

    private static void assertMessage(String start, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }
}
