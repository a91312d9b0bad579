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
        WINDOW_OFF_BY_ONE, GATES_SWAPPED, NAN_IN_OUTPUT, INPUT_MUTATED, NO_VALIDATION,
        /** Block mass written when MAX scores were asked. */
        MASS_FOR_MAX,
        /** Sink logits left out of every denominator. */
        SINK_IGNORED,
        /** A sink treated as one more key whose value is all ones. */
        SINK_WITH_VALUE,
        /** A per-channel gate read per head: channel 0's value for every channel. */
        GATE_PER_HEAD,
        /** SPEC v2's new input checks skipped: sink logits and mass targeting over MAX scores. */
        UNCHECKED_V2,
        /** A batch whose outputs all get the first request's block scores (a score buffer reused across the batch). */
        BATCH_SCORES_SHARED,
        /** Rows remembered by (pool page, slot) on first read and never refreshed: a freed page reused by another sequence reads stale. */
        STALE_PAGE_MIRROR,
        /** A fused oracle-and-select that keeps the scores to itself: the caller's score buffer is left as it was. */
        FUSED_SCORES_KEPT,
        /** Selection lists in the order blocks were picked, not ascending. */
        UNSORTED_SELECTION,
        /** Mass targeting that stops once the mass left out is within twice delta. */
        DELTA_LOOSE,
        /** Block scores written one block later (an off-by-one in the block index): the scored block is its neighbour. */
        S_BLOCK_SHIFT,
        /** Dropped mass reporting the worst row as the mean too. */
        MASS_MEAN_AS_MAX,
        /** A view snapshotted on first use: tokens appended to the cache later are never read by the selected branch. */
        VIEW_SNAPSHOT,
        /** A "device copy" of every cache read, counted in deviceMemoryBytes and never freed when the cache closes. */
        DEVICE_COPY_LEAKED,
        /** One ulp of the first output flipped on every other sparse call (as an unordered parallel sum would). */
        NONDETERMINISTIC,
        /** Sparse outputs staged through one buffer shared by every caller. */
        SHARED_SCRATCH,
        /** An index bug: the sparse layer throws ArrayIndexOutOfBoundsException on a prefill tail. */
        THROWS_IN_SPARSE
    }

    private final java.util.Map<KvCache, Integer> snapshots = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());
    private final java.util.Map<KvCache, Long> deviceCopies = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());
    private final java.util.concurrent.atomic.AtomicLong sparseCalls = new java.util.concurrent.atomic.AtomicLong();
    private float[] scratch = new float[0];

    @Override
    public long deviceMemoryBytes() {
        synchronized (deviceCopies) {
            return deviceCopies.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** The cache behind a source (a cache, or a view of one); null for a window. */
    private static KvCache cacheOf(KvSource kv) {
        return kv instanceof KvCacheView v ? v.cache() : kv instanceof KvCache c ? c : null;
    }

    private void mirrorOnDevice(KvSource kv) {
        KvCache c = cacheOf(kv);
        if (m == Mutation.DEVICE_COPY_LEAKED && c != null) deviceCopies.put(c, c.bytes());
    }

    @Override
    public BlockSelection oracleAndSelect(OracleRequest request, OracleOutput output, SelectionPolicy policy) {
        if (m != Mutation.FUSED_SCORES_KEPT) return AttentionBackend.super.oracleAndSelect(request, output, policy);
        Checks.oracle(request, output);
        Checks.policyFor(request.scores(), policy);
        OracleOutput mine = OracleOutput.allocate(request);
        oracle(request, mine);
        System.arraycopy(mine.out(), 0, output.out(), 0, mine.out().length);
        return select(new SelectionRequest(mine.scores(), policy));
    }

    private final java.util.Map<String, float[]> mirror = new java.util.concurrent.ConcurrentHashMap<>();

    /** Key (or value) row (t, h), through the stale page mirror when that is the mutation. */
    private void read(KvSource kv, int t, int h, float[] dst, boolean key) {
        KvCache cache = cacheOf(kv);
        if (m != Mutation.STALE_PAGE_MIRROR || cache == null) {
            if (key) kv.readKey(t, h, dst);
            else kv.readValue(t, h, dst);
            return;
        }
        String at = System.identityHashCode(cache.pool()) + ":" + cache.blockTable()[t / cache.blockSize()] + ":" + t % cache.blockSize()
                + ":" + h + ":" + key;
        float[] row = mirror.computeIfAbsent(at, x -> {
            float[] r = new float[dst.length];
            if (key) kv.readKey(t, h, r);
            else kv.readValue(t, h, r);
            return r;
        });
        System.arraycopy(row, 0, dst, 0, dst.length);
    }

    @Override
    public void oracle(OracleBatch batch, java.util.List<OracleOutput> outputs) {
        Checks.oracleBatch(batch, outputs);
        for (int i = 0; i < batch.size(); i++) oracle(batch.get(i), outputs.get(i));
        if (m == Mutation.BATCH_SCORES_SHARED) {
            float[] first = outputs.get(0).scores().data();
            for (OracleOutput o : outputs) System.arraycopy(first, 0, o.scores().data(), 0, Math.min(first.length, o.scores().data().length));
        }
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
            read(kv, t, h, k, true);
            double dot = 0;
            for (int d = 0; d < k.length; d++) dot += (double) q.data()[q.offset(i, g) + d] * k[d];
            l[t - from] = s * dot;
        }
        return l;
    }

    /** Softmax with an optional sink logit in the denominator; returns the sink's probability. */
    private double softmaxInPlace(double[] l, float[] sinks, int g) {
        boolean sink = sinks != null && m != Mutation.SINK_IGNORED;
        double max = Arrays.stream(l).max().orElse(Double.NEGATIVE_INFINITY);
        if (sink) max = Math.max(max, sinks[g]);
        double sum = sink ? Math.exp(sinks[g] - max) : 0, own = sum;
        for (int n = 0; n < l.length; n++) sum += (l[n] = Math.exp(l[n] - max));
        for (int n = 0; n < l.length; n++) l[n] /= sum;
        return own / sum;
    }

    private float[] sinkUnchecked(float[] sink) {
        return m == Mutation.UNCHECKED_V2 ? null : sink;
    }

    private int lastVisible(int pos, int tokens) {
        return m == Mutation.CAUSAL_OFF_BY_ONE ? Math.min(pos + 1, tokens - 1) : pos;
    }

    @Override
    public void oracle(OracleRequest r, OracleOutput o) {
        if (m != Mutation.NO_VALIDATION) Checks.oracle(r.withSink(sinkUnchecked(r.sink())), o);
        mirrorOnDevice(r.kv());
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
                softmaxInPlace(p, r.sink(), g);
                double[] acc = new double[q.headDim()];
                double[] mass = new double[s.kvBlocks()];
                boolean sum = r.scores() == ScoreMode.MASS || m == Mutation.MASS_FOR_MAX;
                for (int t = 0; t <= last; t++) {
                    read(kv, t, h, v, false);
                    for (int d = 0; d < v.length; d++) acc[d] += p[t] * v[d];
                    int j = t / r.geometry().blockSize();
                    mass[j] = sum ? mass[j] + p[t] : Math.max(mass[j], p[t]);
                }
                for (int d = 0; d < acc.length; d++) o.out()[q.offset(i, g) + d] = (float) acc[d];
                if (m == Mutation.S_BLOCK_SHIFT) {
                    for (int j = mass.length - 1; j > 0; j--) mass[j] = mass[j - 1];
                    mass[0] = 0;
                }
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
        BlockScores s = r.scores();
        Checks.selection(m == Mutation.UNCHECKED_V2 ? new SelectionRequest(new BlockScores(ScoreMode.MASS, s.geometry(),
                s.queryBlocks(), s.kvHeads(), s.kvBlocks(), s.data()), r.policy()) : r);
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
                double slack = m == Mutation.DELTA_LOOSE ? 2 : 1;
                java.util.List<Integer> picked = new java.util.ArrayList<>();
                for (int j = 0; j < visible; j++) if (taken[j]) picked.add(j);
                while (n < budget && !(p instanceof SelectionPolicy.MassTarget mt && left <= slack * mt.delta())) {
                    int best = -1;
                    for (int j = 0; j < visible; j++) {
                        if (taken[j]) continue;
                        boolean better = best < 0 || s.get(h, qb, j) > s.get(h, qb, best)
                                || (m == Mutation.TIE_TO_HIGHER_INDEX && s.get(h, qb, j) == s.get(h, qb, best));
                        if (better) best = j;
                    }
                    if (best < 0) break;
                    taken[best] = true;
                    picked.add(best);
                    n++;
                    left -= s.get(h, qb, best);
                }
                int[] list = new int[n];
                for (int j = 0, c = 0; j < visible; j++) if (taken[j]) list[c++] = j;
                if (m == Mutation.UNSORTED_SELECTION) list = picked.stream().mapToInt(Integer::intValue).toArray();
                out[h * nqb + qb] = list;
            }
        }
        return new BlockSelection(s.geometry(), s.queryBlocks(), s.kvHeads(), out);
    }

    @Override
    public void sparse(SparseRequest r, float[] out) {
        Checks.sparse(r.withSinks(sinkUnchecked(r.sinkSel()), sinkUnchecked(r.sinkSwa())), out);
        mirrorOnDevice(r.shared());
        if (m == Mutation.THROWS_IN_SPARSE && r.queries().rows() > 1) {
            int[] lists = new int[r.queries().rows()];
            lists[r.queries().rows()] = 1; // the planted bug: one past the end
        }
        Queries q = r.queries();
        KvSource shared = r.shared();
        KvCache sharedCache = cacheOf(shared);
        int readable = m == Mutation.VIEW_SNAPSHOT && sharedCache != null
                ? snapshots.computeIfAbsent(sharedCache, KvCache::length) : Integer.MAX_VALUE;
        float[] dst = out;
        if (m == Mutation.SHARED_SCRATCH) {
            synchronized (this) {
                if (scratch.length < out.length) scratch = new float[out.length];
                dst = scratch;
            }
        }
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
                for (int j : r.selection().blocks(h, qb)) {
                    for (int t = j * bs; t <= Math.min(pos, (j + 1) * bs - 1) && t < readable; t++) ts.add(t);
                }
                attend(q, i, g, shared, ts, r.scale(), sel, r.sinkSel());
                double[] swa = new double[q.headDim()];
                if (r.window() > 0) {
                    int w = m == Mutation.WINDOW_OFF_BY_ONE ? r.window() - 1 : r.window();
                    java.util.List<Integer> win = new java.util.ArrayList<>();
                    for (int t = Math.max(0, pos - w + 1); t <= pos; t++) win.add(t);
                    attend(q, i, g, r.swa(), win, r.scale(), swa, r.sinkSwa());
                }
                int gi = i * q.heads() + g;
                float[] ga = m == Mutation.GATES_SWAPPED ? r.gateSwa() : r.gateSel();
                float[] gb = m == Mutation.GATES_SWAPPED ? r.gateSel() : r.gateSwa();
                for (int d = 0; d < q.headDim(); d++) {
                    dst[q.offset(i, g) + d] = (float) (gate(ga, q, gi, d) * sel[d] + gate(gb, q, gi, d) * swa[d]);
                }
            }
        }
        if (dst != out) System.arraycopy(dst, 0, out, 0, out.length);
        if (m == Mutation.NONDETERMINISTIC && sparseCalls.getAndIncrement() % 2 == 1) out[0] = Math.nextUp(out[0]);
    }

    /** Per head ([Lq][Hq]) or per channel ([Lq][Hq][D]), by length. */
    private float gate(float[] gate, Queries q, int gi, int d) {
        if (gate.length == q.rows() * q.heads()) return gate[gi];
        return gate[gi * q.headDim() + (m == Mutation.GATE_PER_HEAD ? 0 : d)];
    }

    private void attend(Queries q, int i, int g, KvSource kv, java.util.List<Integer> ts, float scale, double[] out, float[] sinks) {
        if (ts.isEmpty()) return;
        double s = m == Mutation.WRONG_SCALE ? scale * 1.25 : scale;
        int h = kvHead(g, q.heads(), kv.kvHeads());
        float[] k = new float[q.headDim()];
        double[] p = new double[ts.size()];
        for (int n = 0; n < p.length; n++) {
            read(kv, ts.get(n), h, k, true);
            double dot = 0;
            for (int d = 0; d < k.length; d++) dot += (double) q.data()[q.offset(i, g) + d] * k[d];
            p[n] = s * dot;
        }
        double sinkShare = softmaxInPlace(p, sinks, g);
        for (int n = 0; n < p.length; n++) {
            read(kv, ts.get(n), h, k, false);
            for (int d = 0; d < k.length; d++) out[d] += p[n] * k[d];
        }
        if (m == Mutation.SINK_WITH_VALUE) for (int d = 0; d < out.length; d++) out[d] += sinkShare;
    }

    @Override
    public DroppedMass droppedMass(DroppedMassRequest r) {
        Checks.droppedMass(r.withSink(sinkUnchecked(r.sink())));
        Queries q = r.queries();
        int bs = r.selection().geometry().blockSize();
        double max = 0, sum = 0;
        for (int i = 0; i < q.rows(); i++) {
            int pos = q.positions()[i];
            int qb = r.selection().queryBlocks().indexOf(pos, r.selection().geometry().queryBlockSize());
            for (int g = 0; g < q.heads(); g++) {
                double[] p = logits(q, i, g, r.kv(), 0, lastVisible(pos, r.kv().length()), r.scale());
                double left = 1 - softmaxInPlace(p, r.sink(), g);
                for (int j : r.selection().blocks(kvHead(g, q.heads(), r.kv().kvHeads()), qb)) {
                    for (int t = j * bs; t <= Math.min(pos, (j + 1) * bs - 1); t++) left -= p[t];
                }
                max = Math.max(max, left);
                sum += Math.max(0, left);
            }
        }
        double mean = m == Mutation.MASS_MEAN_AS_MAX ? Math.max(0, max) : sum / (q.rows() * q.heads());
        return new DroppedMass(Math.max(0, max), mean);
    }
}
