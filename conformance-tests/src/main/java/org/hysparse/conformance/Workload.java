package org.hysparse.conformance;

import java.util.Random;
import org.hysparse.api.KvCache;
import org.hysparse.api.KvPrecision;
import org.hysparse.api.Queries;
import org.hysparse.api.SwaCache;

/**
 * A case's data, generated from its seed: the full layer's cache of {@code T} tokens, a sparse layer's
 * own window cache, the query rows and the gates. Never zeros: every pattern draws random values.
 */
public final class Workload implements AutoCloseable {
    public final Case c;
    public final KvPrecision precision;
    public final KvCache cache;
    public final SwaCache swa;
    public final Queries queries;
    public final float[] gateSel;
    public final float[] gateSwa;
    /** Per-channel gates {@code [Lq][Hq][D]} (SPEC 3, the paper's elementwise gates). */
    public final float[] channelGateSel;
    public final float[] channelGateSwa;
    /** Sink logits {@code [Hq]} for the oracle and each sparse branch. */
    public final float[] sinkOracle;
    public final float[] sinkSel;
    public final float[] sinkSwa;

    public Workload(Case c, KvPrecision precision) {
        this.c = c;
        this.precision = precision;
        Random rnd = new Random(c.seed());
        int rowElems = c.hkv() * c.dim();
        float[][] dirs = new float[c.hkv()][];
        for (int h = 0; h < c.hkv(); h++) dirs[h] = gaussian(rnd, c.dim(), 1.5f);
        float[] k = keys(rnd, dirs);
        float[] v = values(rnd, c.tokens() * rowElems);
        cache = new KvCache(c.hkv(), c.dim(), c.block(), precision);
        cache.append(k, v, c.tokens());
        if (c.window() > 0) {
            swa = new SwaCache(c.hkv(), c.dim(), Math.min(c.tokens(), c.window() + c.rows() - 1), precision);
            swa.append(scaled(gaussian(rnd, c.tokens() * rowElems, 1f)), values(rnd, c.tokens() * rowElems), c.tokens());
        } else {
            swa = null;
        }
        queries = Queries.last(queryData(rnd, dirs), c.rows(), c.hq(), c.dim(), c.tokens());
        gateSel = uniform(rnd, c.rows() * c.hq());
        gateSwa = uniform(rnd, c.rows() * c.hq());
        channelGateSel = uniform(rnd, c.rows() * c.hq() * c.dim());
        channelGateSwa = uniform(rnd, c.rows() * c.hq() * c.dim());
        sinkOracle = sinks(rnd, c.hq(), c.tokens());
        sinkSel = sinks(rnd, c.hq(), Math.min(c.tokens(), c.k() * c.block()));
        sinkSwa = sinks(rnd, c.hq(), Math.max(1, Math.min(c.tokens(), c.window())));
    }

    /**
     * Sink logits that take a real share of a softmax over {@code keys} keys of logits about N(0, 1): about
     * {@code ln(keys)}, give or take one, so a sink ignored, or given a value, moves every output.
     */
    public static float[] sinks(Random rnd, int heads, int keys) {
        float[] s = new float[heads];
        for (int g = 0; g < heads; g++) s[g] = (float) (Math.log(keys) + rnd.nextGaussian());
        return s;
    }

    private float[] keys(Random rnd, float[][] dirs) {
        int rowElems = c.hkv() * c.dim();
        int n = c.tokens() * rowElems;
        float[] k = scaled(gaussian(rnd, n, 1f));
        switch (c.pattern()) {
            case NEEDLE -> {
                int from = c.needleBlock() * c.block();
                int to = Math.min(c.tokens(), from + c.block());
                for (int t = from; t < to; t++) {
                    for (int h = 0; h < c.hkv(); h++) {
                        for (int d = 0; d < c.dim(); d++) {
                            k[(t * c.hkv() + h) * c.dim() + d] = dirs[h][d] + (float) rnd.nextGaussian() * 0.3f;
                        }
                    }
                }
            }
            case CONSTANT_KEYS -> {
                for (int t = 1; t < c.tokens(); t++) System.arraycopy(k, 0, k, t * rowElems, rowElems);
            }
            case NEAR_TIES -> {
                // The second half of the blocks repeats the first: exact ties; every third copy is nudged by
                // one part in 10^6 so the tie becomes a near-tie that rounding can flip.
                int nb = c.kvBlocks();
                for (int j = 0; j + nb / 2 < nb - 1; j++) {
                    int src = j * c.block() * rowElems;
                    int dst = (j + nb / 2) * c.block() * rowElems;
                    int len = Math.min(c.block() * rowElems, n - dst);
                    System.arraycopy(k, src, k, dst, len);
                    if (j % 3 == 2) for (int i = 0; i < len; i++) k[dst + i] *= 1.000001f;
                }
            }
            case SUBNORMALS -> sprinkleSubnormals(rnd, k);
            default -> { }
        }
        return k;
    }

    private float[] values(Random rnd, int n) {
        float[] v = gaussian(rnd, n, 1f);
        if (c.pattern() == Pattern.SUBNORMALS) sprinkleSubnormals(rnd, v);
        return v;
    }

    private float[] queryData(Random rnd, float[][] dirs) {
        float[] q = scaled(gaussian(rnd, c.rows() * c.hq() * c.dim(), 1f));
        int group = c.hq() / c.hkv();
        if (c.pattern() == Pattern.NEEDLE) {
            for (int i = 0; i < c.rows(); i++) {
                for (int g = 0; g < c.hq(); g++) {
                    for (int d = 0; d < c.dim(); d++) {
                        q[(i * c.hq() + g) * c.dim() + d] = dirs[g / group][d] + (float) rnd.nextGaussian() * 0.3f;
                    }
                }
            }
        } else if (c.pattern() == Pattern.PEAKED) {
            for (int i = 0; i < q.length; i++) q[i] *= 6f;
        }
        return q;
    }

    /** HUGE_LOGITS: entries of about 50 make {@code q.k / sqrt(D)} reach about 1e4. */
    private float[] scaled(float[] a) {
        if (c.pattern() == Pattern.HUGE_LOGITS) for (int i = 0; i < a.length; i++) a[i] *= 50f;
        return a;
    }

    private static void sprinkleSubnormals(Random rnd, float[] a) {
        for (int i = 0; i < a.length; i++) {
            if (rnd.nextInt(3) == 0) a[i] = Float.MIN_VALUE * (1 + rnd.nextInt(1 << 22)) * (rnd.nextBoolean() ? 1 : -1);
        }
    }

    /** {@code n} values drawn from N(0, sigma^2). */
    public static float[] gaussian(Random rnd, int n, float sigma) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian() * sigma;
        return a;
    }

    /** {@code n} values drawn uniformly from [0, 1): gates. */
    public static float[] uniform(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextFloat();
        return a;
    }

    @Override
    public void close() {
        cache.close();
        if (swa != null) swa.close();
    }
}
