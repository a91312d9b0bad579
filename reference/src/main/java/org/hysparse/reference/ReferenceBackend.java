package org.hysparse.reference;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.math3.util.MathArrays;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.BlockScores;
import org.hysparse.api.BlockSelection;
import org.hysparse.api.Checks;
import org.hysparse.api.DroppedMass;
import org.hysparse.api.DroppedMassRequest;
import org.hysparse.api.KvPrecision;
import org.hysparse.api.KvSource;
import org.hysparse.api.OracleOutput;
import org.hysparse.api.OracleRequest;
import org.hysparse.api.Queries;
import org.hysparse.api.QueryBlocks;
import org.hysparse.api.SelectionPolicy;
import org.hysparse.api.SelectionRequest;
import org.hysparse.api.ScoreMode;
import org.hysparse.api.SparseRequest;

/**
 * SPEC.md as plain loops: written to be read, not to be fast. Every sum is in float64; dot products use
 * Commons Math's {@link MathArrays#linearCombination(double[], double[])}, accurate to about one ulp of
 * a double, so float32 backends are judged against something far more exact than themselves.
 */
public final class ReferenceBackend implements AttentionBackend {

    @Override public String name() { return ReferenceProvider.NAME; }

    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    // ---- SPEC 1 ----

    @Override
    public void oracle(OracleRequest r, OracleOutput output) {
        Checks.oracle(r, output);
        Queries q = r.queries();
        KvSource kv = r.kv();
        int groups = q.heads() / kv.kvHeads();
        int bs = r.geometry().blockSize();
        int bq = r.geometry().queryBlockSize();
        BlockScores s = output.scores();
        float[] scores = new float[s.data().length];
        float[] out = new float[output.out().length];
        for (int i = 0; i < q.rows(); i++) {
            int pos = q.positions()[i];
            int qb = s.queryBlocks().indexOf(pos, bq);
            for (int g = 0; g < q.heads(); g++) {
                int h = g / groups;
                double[] p = probabilities(q, i, g, kv, r.scale(), r.sink());
                weightedValues(p, kv, h, out, q.offset(i, g));
                double[] score = blockScores(p, bs, r.scores());
                for (int j = 0; j < score.length; j++) {
                    int at = s.index(h, qb, j);
                    scores[at] = Math.max(scores[at], (float) score[j]);
                }
            }
        }
        // Written only once everything is computed, so a failure part-way leaves the caller's buffers alone.
        System.arraycopy(out, 0, output.out(), 0, out.length);
        System.arraycopy(scores, 0, s.data(), 0, scores.length);
    }

    // ---- SPEC 2 ----

    @Override
    public BlockSelection select(SelectionRequest r) {
        Checks.selection(r);
        BlockScores s = r.scores();
        QueryBlocks qbs = s.queryBlocks();
        int[][] blocks = new int[s.kvHeads() * qbs.count()][];
        for (int h = 0; h < s.kvHeads(); h++) {
            for (int qb = 0; qb < qbs.count(); qb++) {
                int visible = qbs.visibleBlocks(qb, s.geometry().blockSize());
                blocks[h * qbs.count() + qb] = selectOne(s, h, qb, visible, r.policy());
            }
        }
        return new BlockSelection(s.geometry(), qbs, s.kvHeads(), blocks);
    }

    private static int[] selectOne(BlockScores s, int h, int qb, int visible, SelectionPolicy policy) {
        int budget = switch (policy) {
            case SelectionPolicy.TopK t -> t.k();
            case SelectionPolicy.MassTarget m -> m.kMax();
        };
        // Forced blocks in priority order: the sink, then the most recent visible blocks.
        Set<Integer> chosen = new LinkedHashSet<>();
        List<Integer> forced = new ArrayList<>();
        if (policy.sink() && visible > 0) forced.add(0);
        for (int l = 0; l < policy.local() && visible - 1 - l >= 0; l++) forced.add(visible - 1 - l);
        for (int b : forced) if (chosen.size() < budget) chosen.add(b);

        // The S left out: summed in block order, then reduced block by block as blocks are chosen.
        List<Integer> rest = new ArrayList<>();
        double leftOut = 0;
        for (int j = 0; j < visible; j++) {
            if (!chosen.contains(j)) {
                rest.add(j);
                leftOut += s.get(h, qb, j);
            }
        }
        rest.sort(Comparator.comparingDouble((Integer j) -> -s.get(h, qb, j)).thenComparingInt(j -> j));
        for (int j : rest) {
            if (chosen.size() >= budget) break;
            if (policy instanceof SelectionPolicy.MassTarget m && leftOut <= m.delta()) break;
            chosen.add(j);
            leftOut -= s.get(h, qb, j);
        }
        return chosen.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    // ---- SPEC 3 ----

    @Override
    public void sparse(SparseRequest r, float[] out) {
        Checks.sparse(r, out);
        Queries q = r.queries();
        KvSource kv = r.shared();
        int groups = q.heads() / kv.kvHeads();
        int bs = r.selection().geometry().blockSize();
        int bq = r.selection().geometry().queryBlockSize();
        int selWidth = r.gateWidth(r.gateSel()), swaWidth = r.gateWidth(r.gateSwa());
        float[] result = new float[out.length];
        for (int i = 0; i < q.rows(); i++) {
            int pos = q.positions()[i];
            int qb = r.selection().queryBlocks().indexOf(pos, bq);
            for (int g = 0; g < q.heads(); g++) {
                int h = g / groups;
                List<Integer> selected = new ArrayList<>();
                for (int j : r.selection().blocks(h, qb)) {
                    for (int t = j * bs; t < Math.min((j + 1) * bs, pos + 1); t++) selected.add(t);
                }
                double[] oSel = attend(q, i, g, kv, h, selected, r.scale(), sinkOf(r.sinkSel(), g));
                double[] oSwa = new double[q.headDim()];
                if (r.window() > 0) {
                    List<Integer> window = new ArrayList<>();
                    for (int t = Math.max(0, pos - r.window() + 1); t <= pos; t++) window.add(t);
                    oSwa = attend(q, i, g, r.swa(), h, window, r.scale(), sinkOf(r.sinkSwa(), g));
                }
                int gi = i * q.heads() + g;
                int o = q.offset(i, g);
                for (int d = 0; d < q.headDim(); d++) {
                    double gSel = SparseRequest.gate(r.gateSel(), selWidth, gi, d);
                    double gSwa = SparseRequest.gate(r.gateSwa(), swaWidth, gi, d);
                    result[o + d] = (float) (gSel * oSel[d] + gSwa * oSwa[d]);
                }
            }
        }
        System.arraycopy(result, 0, out, 0, out.length);
    }

    // ---- SPEC 5 ----

    @Override
    public DroppedMass droppedMass(DroppedMassRequest r) {
        Checks.droppedMass(r);
        Queries q = r.queries();
        KvSource kv = r.kv();
        int groups = q.heads() / kv.kvHeads();
        int bs = r.selection().geometry().blockSize();
        int bq = r.selection().geometry().queryBlockSize();
        double max = 0;
        double sum = 0;
        for (int i = 0; i < q.rows(); i++) {
            int qb = r.selection().queryBlocks().indexOf(q.positions()[i], bq);
            for (int g = 0; g < q.heads(); g++) {
                double[] mass = blockScores(probabilities(q, i, g, kv, r.scale(), r.sink()), bs, ScoreMode.MASS);
                // Dropped = the visible keys' mass outside the selection (a sink's share is no key's).
                double delta = 0;
                for (double m : mass) delta += m;
                // A query block's list may name blocks after this row (visible to its later rows): they hold none of its mass.
                for (int j : r.selection().blocks(g / groups, qb)) if (j < mass.length) delta -= mass[j];
                delta = Math.max(0, delta);
                max = Math.max(max, delta);
                sum += delta;
            }
        }
        return new DroppedMass(max, sum / (q.rows() * q.heads()));
    }

    @Override public void close() { }

    // ---- the arithmetic every contract shares ----

    /** Head {@code g}'s sink logit, or -infinity (adds nothing to a denominator) when there are none. */
    private static double sinkOf(float[] sink, int g) {
        return sink == null ? Double.NEGATIVE_INFINITY : sink[g];
    }

    /** Softmax over positions {@code 0..pos} of row {@code i}, head {@code g}, with its sink if any: {@code p[t]}. */
    static double[] probabilities(Queries q, int i, int g, KvSource kv, float scale, float[] sink) {
        int h = g / (q.heads() / kv.kvHeads());
        List<Integer> visible = new ArrayList<>();
        for (int t = 0; t <= q.positions()[i]; t++) visible.add(t);
        return softmax(logits(q, i, g, kv, h, visible, scale), sinkOf(sink, g));
    }

    /** Softmax attention of row {@code (i, g)} over the given positions; zero when there are none. */
    private static double[] attend(Queries q, int i, int g, KvSource kv, int h, List<Integer> positions, float scale,
                                   double sink) {
        double[] out = new double[q.headDim()];
        if (positions.isEmpty()) return out;
        double[] p = softmax(logits(q, i, g, kv, h, positions, scale), sink);
        float[] v = new float[q.headDim()];
        for (int n = 0; n < positions.size(); n++) {
            kv.readValue(positions.get(n), h, v);
            for (int d = 0; d < v.length; d++) out[d] += p[n] * v[d];
        }
        return out;
    }

    private static double[] logits(Queries q, int i, int g, KvSource kv, int h, List<Integer> positions, double scale) {
        double[] qRow = new double[q.headDim()];
        for (int d = 0; d < qRow.length; d++) qRow[d] = q.data()[q.offset(i, g) + d];
        float[] k = new float[q.headDim()];
        double[] kRow = new double[q.headDim()];
        double[] logits = new double[positions.size()];
        for (int n = 0; n < logits.length; n++) {
            kv.readKey(positions.get(n), h, k);
            for (int d = 0; d < k.length; d++) kRow[d] = k[d];
            logits[n] = scale * MathArrays.linearCombination(qRow, kRow);
        }
        return logits;
    }

    /**
     * Subtracts the maximum first, so no exponent overflows. A sink logit (SPEC 3, gpt-oss) is one more term
     * of the denominator that carries no value: the probabilities then sum to less than 1.
     */
    private static double[] softmax(double[] logits, double sink) {
        double max = sink;
        for (double l : logits) max = Math.max(max, l);
        double sum = sink == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sink - max);
        double[] p = new double[logits.length];
        for (int n = 0; n < p.length; n++) {
            p[n] = Math.exp(logits[n] - max);
            sum += p[n];
        }
        for (int n = 0; n < p.length; n++) p[n] /= sum;
        return p;
    }

    private static void weightedValues(double[] p, KvSource kv, int h, float[] out, int at) {
        double[] acc = new double[kv.headDim()];
        float[] v = new float[kv.headDim()];
        for (int t = 0; t < p.length; t++) {
            kv.readValue(t, h, v);
            for (int d = 0; d < v.length; d++) acc[d] += p[t] * v[d];
        }
        for (int d = 0; d < acc.length; d++) out[at + d] = (float) acc[d];
    }

    /**
     * Per KV block of one row: the mass {@code sum of p[t]} over its keys ({@code MASS}), or the largest
     * {@code p[t]} of its keys ({@code MAX}, the paper's Eq. 3).
     */
    private static double[] blockScores(double[] p, int blockSize, ScoreMode mode) {
        double[] score = new double[(p.length + blockSize - 1) / blockSize];
        for (int t = 0; t < p.length; t++) {
            int j = t / blockSize;
            score[j] = mode == ScoreMode.MASS ? score[j] + p[t] : Math.max(score[j], p[t]);
        }
        return score;
    }
}
