package org.hysparse.conformance;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import org.hysparse.api.*;

/**
 * A small, independent float64 implementation of SPEC.md with one switchable bug. With
 * {@link Mutation#NONE} it must pass the whole kit; with any other mutation a named rule must fail.
 */
final class MutantBackend implements AttentionBackend {
    enum Mutation {
        NONE, WRONG_SCALE, CAUSAL_OFF_BY_ONE, GQA_MAPPING, S_SUMMED, TIE_TO_HIGHER_INDEX, VIEW_COPIED,
        WINDOW_OFF_BY_ONE, GATES_SWAPPED, NAN_IN_OUTPUT, INPUT_MUTATED, NO_VALIDATION
    }

    private final Mutation m;

    MutantBackend(Mutation m) {
        this.m = m;
    }

    @Override public String name() { return "mutant-" + m.name().toLowerCase(); }
    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }
    @Override public void close() { }

    private int kvHead(int g, int heads, int kvHeads) {
        return m == Mutation.GQA_MAPPING ? g % kvHeads : g / (heads / kvHeads);
    }

    private double[] logits(Queries q, int i, int g, KvSource kv, int from, int to, float scale) {
        double s = m == Mutation.WRONG_SCALE ? scale * 1.25 : scale;
        int h = kvHead(g, q.heads(), kv.kvHeads());
        float[] k = new float[q.headDim()];
        double[] l = new double[to - from + 1];
        for (int t = from; t <= to; t++) {
            kv.readKey(t, h, k);
            double dot = 0;
            for (int d = 0; d < k.length; d++) dot += (double) q.data()[q.offset(i, g) + d] * k[d];
            l[t - from] = s * dot;
        }
        return l;
    }

    private static void softmaxInPlace(double[] l) {
        double max = Arrays.stream(l).max().orElse(0), sum = 0;
        for (int n = 0; n < l.length; n++) sum += (l[n] = Math.exp(l[n] - max));
        for (int n = 0; n < l.length; n++) l[n] /= sum;
    }

    private int lastVisible(int pos, int tokens) {
        return m == Mutation.CAUSAL_OFF_BY_ONE ? Math.min(pos + 1, tokens - 1) : pos;
    }

    @Override
    public void oracle(OracleRequest r, OracleOutput o) {
        if (m != Mutation.NO_VALIDATION) Checks.oracle(r, o);
        Queries q = r.queries();
        KvSource kv = r.kv();
        BlockScores s = o.scores();
        Arrays.fill(s.data(), 0f);
        float[] v = new float[q.headDim()];
        for (int i = 0; i < q.rows(); i++) {
            int last = lastVisible(q.positions()[i], kv.length());
            int qb = s.queryBlocks().indexOf(q.positions()[i], r.geometry().queryBlockSize());
            for (int g = 0; g < q.heads(); g++) {
                int h = kvHead(g, q.heads(), kv.kvHeads());
                double[] p = logits(q, i, g, kv, 0, last, r.scale());
                softmaxInPlace(p);
                double[] acc = new double[q.headDim()];
                double[] mass = new double[s.kvBlocks()];
                for (int t = 0; t <= last; t++) {
                    kv.readValue(t, h, v);
                    for (int d = 0; d < v.length; d++) acc[d] += p[t] * v[d];
                    mass[t / r.geometry().blockSize()] += p[t];
                }
                for (int d = 0; d < acc.length; d++) o.out()[q.offset(i, g) + d] = (float) acc[d];
                for (int j = 0; j < mass.length; j++) {
                    int at = s.index(g / (q.heads() / kv.kvHeads()), qb, j);
                    s.data()[at] = m == Mutation.S_SUMMED ? s.data()[at] + (float) mass[j] : Math.max(s.data()[at], (float) mass[j]);
                }
            }
        }
        if (m == Mutation.NAN_IN_OUTPUT) o.out()[o.out().length / 2] = Float.NaN;
        if (m == Mutation.INPUT_MUTATED) q.data()[0] += 1f;
    }

    @Override
    public BlockSelection select(SelectionRequest r) {
        Checks.selection(r);
        BlockScores s = r.scores();
        SelectionPolicy p = r.policy();
        int budget = p instanceof SelectionPolicy.TopK t ? t.k() : ((SelectionPolicy.MassTarget) p).kMax();
        int nqb = s.queryBlocks().count();
        int[][] out = new int[s.kvHeads() * nqb][];
        for (int h = 0; h < s.kvHeads(); h++) {
            for (int qb = 0; qb < nqb; qb++) {
                int visible = s.queryBlocks().visibleBlocks(qb, s.geometry().blockSize());
                boolean[] taken = new boolean[visible];
                int n = 0;
                if (p.sink() && visible > 0 && n < budget) { taken[0] = true; n++; }
                for (int l = 0; l < p.local() && visible - 1 - l >= 0 && n < budget; l++) {
                    if (!taken[visible - 1 - l]) { taken[visible - 1 - l] = true; n++; }
                }
                double left = 0;
                for (int j = 0; j < visible; j++) if (!taken[j]) left += s.get(h, qb, j);
                while (n < budget && !(p instanceof SelectionPolicy.MassTarget mt && left <= mt.delta())) {
                    int best = -1;
                    for (int j = 0; j < visible; j++) {
                        if (taken[j]) continue;
                        boolean better = best < 0 || s.get(h, qb, j) > s.get(h, qb, best)
                                || (m == Mutation.TIE_TO_HIGHER_INDEX && s.get(h, qb, j) == s.get(h, qb, best));
                        if (better) best = j;
                    }
                    if (best < 0) break;
                    taken[best] = true;
                    n++;
                    left -= s.get(h, qb, best);
                }
                int[] list = new int[n];
                for (int j = 0, c = 0; j < visible; j++) if (taken[j]) list[c++] = j;
                out[h * nqb + qb] = list;
            }
        }
        return new BlockSelection(s.geometry(), s.queryBlocks(), s.kvHeads(), out);
    }

    @Override
    public void sparse(SparseRequest r, float[] out) {
        Checks.sparse(r, out);
        Queries q = r.queries();
        KvSource shared = r.shared();
        if (m == Mutation.VIEW_COPIED) {
            KvCache copy = new KvCache(shared.kvHeads(), shared.headDim(), r.selection().geometry().blockSize(), KvPrecision.FLOAT32);
            int row = shared.kvHeads() * shared.headDim();
            float[] k = new float[shared.length() * row], v = new float[shared.length() * row];
            float[] tmp = new float[shared.headDim()];
            for (int t = 0; t < shared.length(); t++) {
                for (int h = 0; h < shared.kvHeads(); h++) {
                    shared.readKey(t, h, tmp);
                    System.arraycopy(tmp, 0, k, t * row + h * shared.headDim(), tmp.length);
                    shared.readValue(t, h, tmp);
                    System.arraycopy(tmp, 0, v, t * row + h * shared.headDim(), tmp.length);
                }
            }
            copy.append(k, v, shared.length());
            shared = copy;
        }
        int bs = r.selection().geometry().blockSize();
        for (int i = 0; i < q.rows(); i++) {
            int pos = q.positions()[i];
            int qb = r.selection().queryBlocks().indexOf(pos, r.selection().geometry().queryBlockSize());
            for (int g = 0; g < q.heads(); g++) {
                int h = kvHead(g, q.heads(), shared.kvHeads());
                double[] sel = new double[q.headDim()];
                java.util.List<Integer> ts = new java.util.ArrayList<>();
                for (int j : r.selection().blocks(h, qb)) for (int t = j * bs; t <= Math.min(pos, (j + 1) * bs - 1); t++) ts.add(t);
                attend(q, i, g, shared, ts, r.scale(), sel);
                double[] swa = new double[q.headDim()];
                if (r.window() > 0) {
                    int w = m == Mutation.WINDOW_OFF_BY_ONE ? r.window() - 1 : r.window();
                    java.util.List<Integer> win = new java.util.ArrayList<>();
                    for (int t = Math.max(0, pos - w + 1); t <= pos; t++) win.add(t);
                    attend(q, i, g, r.swa(), win, r.scale(), swa);
                }
                int gi = i * q.heads() + g;
                float a = m == Mutation.GATES_SWAPPED ? r.gateSwa()[gi] : r.gateSel()[gi];
                float b = m == Mutation.GATES_SWAPPED ? r.gateSel()[gi] : r.gateSwa()[gi];
                for (int d = 0; d < q.headDim(); d++) out[q.offset(i, g) + d] = (float) (a * sel[d] + b * swa[d]);
            }
        }
    }

    private void attend(Queries q, int i, int g, KvSource kv, java.util.List<Integer> ts, float scale, double[] out) {
        if (ts.isEmpty()) return;
        double s = m == Mutation.WRONG_SCALE ? scale * 1.25 : scale;
        int h = kvHead(g, q.heads(), kv.kvHeads());
        float[] k = new float[q.headDim()];
        double[] p = new double[ts.size()];
        for (int n = 0; n < p.length; n++) {
            kv.readKey(ts.get(n), h, k);
            double dot = 0;
            for (int d = 0; d < k.length; d++) dot += (double) q.data()[q.offset(i, g) + d] * k[d];
            p[n] = s * dot;
        }
        softmaxInPlace(p);
        for (int n = 0; n < p.length; n++) {
            kv.readValue(ts.get(n), h, k);
            for (int d = 0; d < k.length; d++) out[d] += p[n] * k[d];
        }
    }

    @Override
    public DroppedMass droppedMass(DroppedMassRequest r) {
        Checks.droppedMass(r);
        Queries q = r.queries();
        int bs = r.selection().geometry().blockSize();
        double max = 0, sum = 0;
        for (int i = 0; i < q.rows(); i++) {
            int pos = q.positions()[i];
            int qb = r.selection().queryBlocks().indexOf(pos, r.selection().geometry().queryBlockSize());
            for (int g = 0; g < q.heads(); g++) {
                double[] p = logits(q, i, g, r.kv(), 0, lastVisible(pos, r.kv().length()), r.scale());
                softmaxInPlace(p);
                double kept = 0;
                for (int j : r.selection().blocks(kvHead(g, q.heads(), r.kv().kvHeads()), qb)) {
                    for (int t = j * bs; t <= Math.min(pos, (j + 1) * bs - 1); t++) kept += p[t];
                }
                max = Math.max(max, 1 - kept);
                sum += Math.max(0, 1 - kept);
            }
        }
        return new DroppedMass(Math.max(0, max), sum / (q.rows() * q.heads()));
    }
}
