package org.hysparse.backend.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.hysparse.api.*;
import org.hysparse.reference.ReferenceBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A decode row over few KV heads is split into pieces of blocks and merged: the same answer as the reference. */
class SplitDecodeTest {
    @ParameterizedTest
    @EnumSource(ScoreMode.class)
    void aSplitDecodeMatchesTheReference(ScoreMode mode) {
        Random rnd = new Random(41 + mode.ordinal());
        int hkv = 4, hq = 16, d = 64, tokens = 5000; // 4 tasks, 79 blocks of 64: split into 4 pieces
        try (var cpu = new CpuProvider().create(BackendOptions.none()); var ref = new ReferenceBackend();
             KvCache cache = new KvCache(hkv, d, 64, KvPrecision.FLOAT32)) {
            cache.append(gaussian(rnd, tokens * hkv * d), gaussian(rnd, tokens * hkv * d), tokens);
            float[] sink = gaussian(rnd, hq);
            OracleRequest r = OracleRequest.of(Queries.last(gaussian(rnd, hq * d), 1, hq, d, tokens), cache, BlockGeometry.of(64))
                    .withScores(mode).withSink(sink);
            assertEquals(4, CpuBackend.pieces(hkv, 79), "this request takes the split path");
            OracleOutput got = cpu.oracle(r), want = ref.oracle(r);
            double err = 0, norm = 0;
            for (int i = 0; i < want.out().length; i++) {
                err += Math.pow(got.out()[i] - want.out()[i], 2);
                norm += Math.pow(want.out()[i], 2);
            }
            assertTrue(Math.sqrt(err / norm) < 1e-5, "relative L2 " + Math.sqrt(err / norm));
            for (int i = 0; i < want.scores().data().length; i++) {
                assertEquals(want.scores().data()[i], got.scores().data()[i], 1e-6, "S at " + i);
            }
        }
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }
}
