package com.example.hysparse;

import java.util.Random;
import org.hysparse.api.*;

/** README's example, built and run by the test command: the paper's operator on one decode step. */
public final class QuickStart {
    private QuickStart() {
    }

    public static void main(String[] args) {
        // README start
        int hq = 64, hkv = 4, d = 128, tokens = 4096;              // the paper's 80B heads; a 4k-token context
        Random rnd = new Random(1);
        try (AttentionBackend b = Backends.fromClasspath().createDefault(BackendOptions.none());             // cpu, or as set
             KvCache cache = new KvCache(hkv, d, 64, KvPrecision.FLOAT16);         // the full layer's KV, B = 64
             SwaCache window = new SwaCache(hkv, d, 128, KvPrecision.FLOAT16)) {   // a sparse layer's own ring, W = 128
            cache.append(gaussian(rnd, tokens * hkv * d), gaussian(rnd, tokens * hkv * d), tokens);
            window.append(gaussian(rnd, tokens * hkv * d), gaussian(rnd, tokens * hkv * d), tokens);
            Queries q = Queries.last(gaussian(rnd, hq * d), 1, hq, d, tokens);   // one decode row at T - 1
            OracleOutput full = b.oracle(OracleRequest.of(q, cache, BlockGeometry.of(64)));      // exact attention + MAX scores
            BlockSelection sel = b.select(new SelectionRequest(full.scores(), SelectionPolicy.TopK.paper())); // 16 blocks
            float[] out = b.sparse(SparseRequest.of(q, cache.view(), sel, window, 128,           // reads the cache, no copy
                    uniform(rnd, hq * d), uniform(rnd, hq * d))                                  // per-channel gates
                    .withSinks(gaussian(rnd, hq), gaussian(rnd, hq)));                           // per-head sink logits
            System.out.printf("%s: %d of %d blocks per KV head, out[0] = %.4f%n", b.name(), sel.blocks(0, 0).length,
                    full.scores().kvBlocks(), out[0]);
        }
        // README end
    }

    static float[] gaussian(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    static float[] uniform(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextFloat();
        return a;
    }
}
