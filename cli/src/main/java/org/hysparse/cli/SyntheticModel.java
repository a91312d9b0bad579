package org.hysparse.cli;

import java.util.SplittableRandom;

/**
 * Seeded K/V/Q with structure a real model shows: Gaussian keys with a locality component (a direction
 * rotating slowly with position, so queries favour nearby keys: the recent blocks carry the most mass)
 * and planted needles that later queries look for. Needles come in two kinds, alternately: a block
 * needle (every key of the block leans towards the direction: much mass, no single sharp key) and a
 * point needle (one key of the block is the direction: one sharp probability, little mass), so the two
 * score modes rank blocks differently on the same caches. A sparse layer's queries are its full layer's
 * plus noise, as neighbouring layers' queries correlate.
 */
final class SyntheticModel {
    private static final double OMEGA = 2 * Math.PI / 8192;
    private static final float LOCALITY = 6.0f;

    private final RunConfig c;
    private final float[][][] needleDir; // [fullLayer][kvHead * needles][dim]
    private final int[][][] needleBlock; // [fullLayer][kvHead][needles]

    SyntheticModel(RunConfig c) {
        this.c = c;
        SplittableRandom rnd = new SplittableRandom(c.seed());
        int full = c.fullLayers();
        needleDir = new float[full][c.hkv() * c.needles()][];
        needleBlock = new int[full][c.hkv()][c.needles()];
        int blocks = c.context() / c.block();
        for (int f = 0; f < full; f++) {
            for (int i = 0; i < c.hkv() * c.needles(); i++) needleDir[f][i] = unit(rnd, c.dim());
            for (int h = 0; h < c.hkv(); h++) {
                // Distinct blocks (partial Fisher-Yates over 1 .. blocks-4): a block holds one needle at most.
                int[] candidates = java.util.stream.IntStream.rangeClosed(1, Math.max(1, blocks - 4)).toArray();
                for (int n = 0; n < c.needles(); n++) {
                    int pick = n + rnd.nextInt(candidates.length - n);
                    int chosen = candidates[pick];
                    candidates[pick] = candidates[n];
                    candidates[n] = chosen;
                    needleBlock[f][h][n] = chosen;
                }
            }
        }
    }

    /** The needle block decode step {@code step} of full layer {@code f} looks for in KV head {@code h}. */
    int targetBlock(int f, int h, int step) {
        return needleBlock[f][h][target(h, step)];
    }

    private int target(int h, int step) {
        return (step * 7 + h) % c.needles();
    }

    /** Keys and values of positions {@code from .. from+n-1} for full layer {@code f} (or a window cache when f < 0). */
    void keysValues(int f, int from, int n, SplittableRandom rnd, float[] k, float[] v) {
        int d = c.dim(), row = c.hkv() * d;
        for (int t = 0; t < n; t++) {
            int pos = from + t;
            for (int h = 0; h < c.hkv(); h++) {
                int o = t * row + h * d;
                int needle = f >= 0 ? needleAt(f, h, pos / c.block()) : -1;
                // A point needle is one key, at an offset of the block fixed by the needle's index.
                boolean point = needle >= 0 && needle % 2 == 1;
                float lean = needle < 0 ? 0f : point ? (pos % c.block() == (needle * 37) % c.block() ? 0.66f : 0f) : 0.49f;
                for (int i = 0; i < d; i++) {
                    k[o + i] = gaussian(rnd) * (lean > 0 ? 0.3f : 0.5f);
                    v[o + i] = gaussian(rnd);
                }
                if (lean > 0) {
                    float[] w = needleDir[f][h * c.needles() + needle];
                    for (int i = 0; i < d; i++) k[o + i] += lean * w[i];
                }
                k[o] += (float) (LOCALITY * Math.cos(OMEGA * pos));
                k[o + 1] += (float) (LOCALITY * Math.sin(OMEGA * pos));
            }
        }
    }

    private int needleAt(int f, int h, int block) {
        for (int n = 0; n < c.needles(); n++) if (needleBlock[f][h][n] == block) return n;
        return -1;
    }

    /** Queries of {@code rows} positions ending at {@code lastPos} for full layer {@code f}, decode step {@code step}. */
    float[] queries(int f, int rows, int lastPos, int step, SplittableRandom rnd) {
        int d = c.dim(), group = c.hq() / c.hkv();
        float[] q = new float[rows * c.hq() * d];
        // |w|^2 = d: a point needle's key scores about 0.66 * sqrt(d) logits above the Gaussian crowd, each key of a
        // block needle 0.49 * sqrt(d): one sharp key against a block of raised ones. The locality term lifts the
        // last thousand or so keys by 2-3 logits: more blocks of moderate mass than a top-16 can hold.
        float needleGain = 1.0f;
        for (int r = 0; r < rows; r++) {
            int pos = lastPos - rows + 1 + r;
            for (int g = 0; g < c.hq(); g++) {
                int o = (r * c.hq() + g) * d;
                float[] w = needleDir[f][(g / group) * c.needles() + target(g / group, step + r)];
                for (int i = 0; i < d; i++) q[o + i] = 0.5f * gaussian(rnd) + needleGain * w[i];
                q[o] += (float) (LOCALITY * Math.cos(OMEGA * pos));
                q[o + 1] += (float) (LOCALITY * Math.sin(OMEGA * pos));
            }
        }
        return q;
    }

    /** A sparse layer's queries: its full layer's plus noise. */
    static float[] perturb(float[] q, SplittableRandom rnd) {
        float[] p = q.clone();
        for (int i = 0; i < p.length; i++) p[i] += 0.3f * gaussian(rnd);
        return p;
    }

    /**
     * Per-head sink logits of one sparse branch over about {@code keys} keys: near {@code ln(keys)}, so a sink
     * takes a share comparable to the keys' (a learned sink's job: let a head attend to nothing).
     */
    static float[] sinks(int heads, int keys, SplittableRandom rnd) {
        float[] s = new float[heads];
        for (int g = 0; g < heads; g++) s[g] = (float) (Math.log(Math.max(2, keys)) + 0.5 * gaussian(rnd));
        return s;
    }

    /** Gates in [0.4, 0.9]: {@code n} = rows x heads (per head) or rows x heads x D (per channel, the paper's). */
    static float[] gates(int n, SplittableRandom rnd) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) g[i] = 0.4f + 0.5f * (float) rnd.nextDouble();
        return g;
    }

    private static float[] unit(SplittableRandom rnd, int d) {
        float[] w = new float[d];
        double norm = 0;
        for (int i = 0; i < d; i++) { w[i] = gaussian(rnd); norm += w[i] * w[i]; }
        float s = (float) (Math.sqrt(d) / Math.sqrt(norm));
        for (int i = 0; i < d; i++) w[i] *= s;
        return w;
    }

    /** Box-Muller on one uniform pair: fast enough to fill gigabytes of cache. */
    static float gaussian(SplittableRandom rnd) {
        double u = 1 - rnd.nextDouble(), v = rnd.nextDouble();
        return (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
    }
}
