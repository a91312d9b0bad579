package org.hysparse.bench;

import java.util.SplittableRandom;
import org.hysparse.api.*;

/** The benchmark shapes of issue 4: Hq = 32, Hkv = 8, D = 128, B = 64, W = 128. Random data, never zeros. */
final class Shapes {
    static final int HQ = 32, HKV = 8, D = 128, B = 64, W = 128;

    private Shapes() {
    }

    /** Uniform in [-1, 1): cheap enough to fill a gigabyte of cache in a second. */
    static float[] random(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextDouble() * 2 - 1);
        return a;
    }

    /** A full layer's cache of {@code tokens}, appended in chunks so no single array holds it all. */
    static KvCache cache(int tokens, KvPrecision precision, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        KvCache c = new KvCache(HKV, D, B, precision);
        int chunk = 4096;
        for (int t = 0; t < tokens; t += chunk) {
            int n = Math.min(chunk, tokens - t);
            c.append(random(rnd, n * HKV * D), random(rnd, n * HKV * D), n);
        }
        return c;
    }

    static SwaCache window(int tokens, KvPrecision precision, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        SwaCache s = new SwaCache(HKV, D, W, precision);
        int n = Math.min(tokens, W);
        s.append(random(rnd, n * HKV * D), random(rnd, n * HKV * D), n);
        // Only the ring's length matters for positions: pad the count up to T with more tokens.
        for (int t = n; t < tokens; t += W) {
            int m = Math.min(W, tokens - t);
            s.append(random(rnd, m * HKV * D), random(rnd, m * HKV * D), m);
        }
        return s;
    }

    static Queries queries(int rows, int tokens, long seed) {
        return Queries.last(random(new SplittableRandom(seed), rows * HQ * D), rows, HQ, D, tokens);
    }

    /** KV bytes a dense decode step must read: all keys and values of the cache. */
    static double decodeBytes(int tokens, KvPrecision p) {
        return 2.0 * tokens * HKV * D * p.bytes();
    }

    /** Multiply-adds x 2 of causal prefill over the last {@code rows} positions of {@code tokens}. */
    static double prefillFlops(int rows, int tokens) {
        double keys = 0;
        for (int i = 0; i < rows; i++) keys += tokens - rows + i + 1;
        return 4.0 * D * HQ * keys;
    }

    /** System property with the backends' options, e.g. {@code device=opencl} to time the tornado backend on that driver. */
    static final String OPTIONS = "hysparse.bench.options";

    static AttentionBackend backend(String name) {
        return Backends.fromClasspath().create(name, BackendOptions.parse(System.getProperty(OPTIONS, "")));
    }
}
