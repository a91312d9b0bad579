package com.example.hysparse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.hysparse.api.*;

/**
 * A minimal third-party backend: SPEC.md in plain loops on the calling thread, written against the published
 * API only. Every operation validates with {@link Checks} first and writes the caller's buffers last, so an
 * error leaves them untouched; it keeps no state, so concurrent calls are safe. Sums run in double, so it
 * passes the kit's float32 tolerances with room to spare; a real backend would trade that for speed.
 */
final class PlainBackend implements AttentionBackend {

    @Override public String name() { return "plain"; }

    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    @Override public void close() { }

    @Override
    public void oracle(OracleRequest r, OracleOutput output) {
        Checks.oracle(r, output);
        Queries q = r.queries();
        KvSource kv = r.kv();
        BlockScores s = output.scores();
        int bs = r.geometry().blockSize(), group = q.heads() / kv.kvHeads();
        float[] out = new float[output.out().length], scores = new float[s.data().length];
        for (int i = 0; i < q.rows(); i++) {
            int pos = q.positions()[i], qb = s.queryBlocks().indexOf(pos, r.geometry().queryBlockSize());
            for (int g = 0; g < q.heads(); g++) {
                int h = g / group;
                double[] p = softmax(logits(q, i, g, kv, h, range(0, pos), r.scale()), sink(r.sink(), g));
                addWeighted(p, kv, h, range(0, pos), out, q.offset(i, g));
                for (int j = 0; j * bs <= pos; j++) {
                    int at = s.index(h, qb, j);
                    // MAX: a block's largest probability (the paper's); MASS: its sum. Then the largest over rows and heads.
                    scores[at] = Math.max(scores[at], (float) (s.mode() == ScoreMode.MAX ? blockMax(p, j, bs) : blockSum(p, j, bs)));
                }
            }
        }
        System.arraycopy(out, 0, output.out(), 0, out.length);
        System.arraycopy(scores, 0, s.data(), 0, scores.length);
    }

    @Override
    public BlockSelection select(SelectionRequest r) {
        Checks.selection(r);
        BlockScores s = r.scores();
        SelectionPolicy policy = r.policy();
        int budget = policy instanceof SelectionPolicy.MassTarget m ? m.kMax() : ((SelectionPolicy.TopK) policy).k();
        int lists = s.queryBlocks().count();
        int[][] blocks = new int[s.kvHeads() * lists][];
        for (int h = 0; h < s.kvHeads(); h++) {
            for (int qb = 0; qb < lists; qb++) {
                int visible = s.queryBlocks().visibleBlocks(qb, s.geometry().blockSize());
                boolean[] taken = new boolean[visible];
                int n = 0;
                if (policy.sink() && visible > 0 && n < budget) { taken[0] = true; n++; }
                for (int l = 0; l < policy.local() && visible - 1 - l >= 0 && n < budget; l++) {
                    if (!taken[visible - 1 - l]) { taken[visible - 1 - l] = true; n++; }
                }
                double left = 0;
                for (int j = 0; j < visible; j++) if (!taken[j]) left += s.get(h, qb, j);
                // Then the best of the rest, ties to the lower index, until the budget (or the mass target) is met.
                while (n < Math.min(budget, visible) && !(policy instanceof SelectionPolicy.MassTarget m && left <= m.delta())) {
                    int best = -1;
                    for (int j = 0; j < visible; j++) if (!taken[j] && (best < 0 || s.get(h, qb, j) > s.get(h, qb, best))) best = j;
                    taken[best] = true;
                    left -= s.get(h, qb, best);
                    n++;
                }
                int[] list = new int[n];
                for (int j = 0, c = 0; j < visible; j++) if (taken[j]) list[c++] = j;
                blocks[h * lists + qb] = list;
            }
        }
        return new BlockSelection(s.geometry(), s.queryBlocks(), s.kvHeads(), blocks);
    }

    @Override
    public void sparse(SparseRequest r, float[] out) {
        Checks.sparse(r, out);
        Queries q = r.queries();
        BlockSelection sel = r.selection();
        int bs = sel.geometry().blockSize(), group = q.heads() / r.shared().kvHeads(), d = q.headDim();
        int selWidth = r.gateWidth(r.gateSel()), swaWidth = r.gateWidth(r.gateSwa());
        float[] result = new float[out.length], oSel = new float[out.length], oSwa = new float[out.length];
        for (int i = 0; i < q.rows(); i++) {
            int pos = q.positions()[i], qb = sel.queryBlocks().indexOf(pos, sel.geometry().queryBlockSize());
            for (int g = 0; g < q.heads(); g++) {
                int h = g / group, o = q.offset(i, g);
                List<Integer> picked = new ArrayList<>();
                for (int j : sel.blocks(h, qb)) for (int t = j * bs; t < Math.min((j + 1) * bs, pos + 1); t++) picked.add(t);
                attend(q, i, g, r.shared(), h, picked, r.scale(), sink(r.sinkSel(), g), oSel, o);
                if (r.window() > 0) attend(q, i, g, r.swa(), h, range(Math.max(0, pos - r.window() + 1), pos), r.scale(),
                        sink(r.sinkSwa(), g), oSwa, o);
                int gi = i * q.heads() + g;
                for (int e = 0; e < d; e++) {
                    result[o + e] = SparseRequest.gate(r.gateSel(), selWidth, gi, e) * oSel[o + e]
                            + SparseRequest.gate(r.gateSwa(), swaWidth, gi, e) * oSwa[o + e];
                }
            }
        }
        System.arraycopy(result, 0, out, 0, out.length);
    }

    @Override
    public DroppedMass droppedMass(DroppedMassRequest r) {
        Checks.droppedMass(r);
        Queries q = r.queries();
        BlockSelection sel = r.selection();
        int bs = sel.geometry().blockSize(), group = q.heads() / r.kv().kvHeads();
        double max = 0, sum = 0;
        for (int i = 0; i < q.rows(); i++) {
            int pos = q.positions()[i], qb = sel.queryBlocks().indexOf(pos, sel.geometry().queryBlockSize());
            for (int g = 0; g < q.heads(); g++) {
                double[] p = softmax(logits(q, i, g, r.kv(), g / group, range(0, pos), r.scale()), sink(r.sink(), g));
                double dropped = 0;
                for (double x : p) dropped += x; // the keys' share: 1 without a sink
                for (int j : sel.blocks(g / group, qb)) dropped -= blockSum(p, j, bs);
                dropped = Math.max(0, dropped);
                max = Math.max(max, dropped);
                sum += dropped;
            }
        }
        return new DroppedMass(max, sum / ((double) q.rows() * q.heads()));
    }

    // ---- arithmetic ----

    private static List<Integer> range(int from, int to) {
        List<Integer> l = new ArrayList<>();
        for (int t = from; t <= to; t++) l.add(t);
        return l;
    }

    private static double sink(float[] sinks, int g) {
        return sinks == null ? Double.NEGATIVE_INFINITY : sinks[g];
    }

    private static double[] logits(Queries q, int i, int g, KvSource kv, int h, List<Integer> positions, float scale) {
        float[] k = new float[q.headDim()];
        double[] l = new double[positions.size()];
        for (int n = 0; n < l.length; n++) {
            kv.readKey(positions.get(n), h, k);
            double dot = 0;
            for (int e = 0; e < k.length; e++) dot += (double) q.data()[q.offset(i, g) + e] * k[e];
            l[n] = scale * dot;
        }
        return l;
    }

    /** Softmax with the sink logit as one more denominator term (no value); subtracts the max first. */
    private static double[] softmax(double[] l, double sink) {
        double max = Math.max(sink, Arrays.stream(l).max().orElse(Double.NEGATIVE_INFINITY));
        double sum = sink == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sink - max);
        double[] p = new double[l.length];
        for (int n = 0; n < l.length; n++) sum += (p[n] = Math.exp(l[n] - max));
        for (int n = 0; n < l.length; n++) p[n] /= sum;
        return p;
    }

    private static double blockMax(double[] p, int j, int bs) {
        double m = 0;
        for (int t = j * bs; t < Math.min((j + 1) * bs, p.length); t++) m = Math.max(m, p[t]);
        return m;
    }

    private static double blockSum(double[] p, int j, int bs) {
        double m = 0;
        for (int t = j * bs; t < Math.min((j + 1) * bs, p.length); t++) m += p[t];
        return m;
    }

    private static void addWeighted(double[] p, KvSource kv, int h, List<Integer> positions, float[] out, int at) {
        double[] acc = new double[kv.headDim()];
        float[] v = new float[kv.headDim()];
        for (int n = 0; n < p.length; n++) {
            kv.readValue(positions.get(n), h, v);
            for (int e = 0; e < v.length; e++) acc[e] += p[n] * v[e];
        }
        for (int e = 0; e < acc.length; e++) out[at + e] = (float) acc[e];
    }

    /** Softmax attention over the given positions into {@code out[at..]}; zero when there are none. */
    private static void attend(Queries q, int i, int g, KvSource kv, int h, List<Integer> positions, float scale, double sink,
                               float[] out, int at) {
        if (positions.isEmpty()) return;
        addWeighted(softmax(logits(q, i, g, kv, h, positions, scale), sink), kv, h, positions, out, at);
    }
}
