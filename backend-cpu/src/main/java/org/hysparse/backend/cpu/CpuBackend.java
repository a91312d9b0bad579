package org.hysparse.backend.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import org.hysparse.api.*;

/**
 * Backend {@code cpu}. Work is split into one task per (sequence, KV head, query block): a task owns its rows
 * of the output and its row of S, so results never depend on scheduling (bit-identical across runs, thread
 * counts and batch compositions) and no two tasks write the same element. A batch's tasks run as one pool
 * submission, largest first, so sequences of mixed lengths share the threads. Causal blocks past a task's last
 * row are never visited. Safe for concurrent calls: scratch buffers belong to worker threads, not to calls.
 */
final class CpuBackend implements AttentionBackend {
    private final ForkJoinPool pool;
    private final String device;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    CpuBackend(int threads, String device) {
        this.pool = new ForkJoinPool(threads);
        this.device = device;
    }

    @Override public String name() { return CpuProvider.NAME; }

    /** The provider's description with this instance's thread count (option {@code threads}). */
    @Override public String device() { return device; }

    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    // ---- SPEC 1 ----

    @Override
    public void oracle(OracleRequest r, OracleOutput output) {
        Checks.oracle(r, output);
        List<Work> then = new ArrayList<>();
        invoke(oracleWork(r, output, then));
        invoke(then);
    }

    @Override
    public void oracle(OracleBatch batch, List<OracleOutput> outputs) {
        Checks.oracleBatch(batch, outputs);
        List<Work> all = new ArrayList<>(), then = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) all.addAll(oracleWork(batch.get(i), outputs.get(i), then));
        invoke(all);
        invoke(then);
    }

    /**
     * Query vectors of a (KV head, query block) task are few in decode, and a layout with few KV heads (the paper's
     * 80B model has 4) gives fewer tasks than cores: a task over many blocks is then split into pieces of
     * contiguous blocks, each leaving its online-softmax state and block statistics, merged by a task of the second
     * phase ({@code then}). The split depends on the request only, never on the thread count, so results do not
     * either.
     */
    private List<Work> oracleWork(OracleRequest r, OracleOutput output, List<Work> then) {
        Queries q = r.queries();
        KvSource kv = r.kv();
        BlockScores s = output.scores();
        int bs = r.geometry().blockSize();
        int[] rowStart = s.queryBlocks().rowStarts(q.positions(), r.geometry().queryBlockSize());
        Arrays.fill(s.data(), 0f);
        float[] out = output.out();
        int nqb = s.queryBlocks().count(), tasks = nqb * kv.kvHeads(), group = q.heads() / kv.kvHeads();
        List<Work> first = new ArrayList<>();
        for (int qb = nqb - 1; qb >= 0; qb--) {
            int r0 = rowStart[qb], r1 = rowStart[qb + 1];
            if (r0 == r1) continue;
            int visible = q.positions()[r1 - 1] / bs + 1, end = q.positions()[r1 - 1] + 1;
            long cost = (long) (r1 - r0) * end;
            int pieces = pieces(tasks, visible);
            for (int h = 0; h < kv.kvHeads(); h++) {
                int hh = h, qq = qb;
                if (pieces == 1) {
                    first.add(new Work(cost, () -> {
                        Rows t = begin(q, kv.kvHeads(), hh, r0, r1, r.scale(), bs, visible);
                        setSinks(t.sc().sel, r.sink(), hh, group, t.rCount());
                        scan(t, q, kv, bs, 0, visible, true);
                        finish(t.sc(), q, s, out, hh, qq, r0, group, t.rCount(), t.rPad(), visible);
                        return null;
                    }));
                    continue;
                }
                int rCount = (r1 - r0) * group, rPad = FlashKernel.pad(rCount);
                Partial part = new Partial(pieces, rPad, q.headDim(), visible);
                int per = (visible + pieces - 1) / pieces;
                for (int c = 0; c < pieces; c++) {
                    int piece = c, j0 = c * per, j1 = Math.min(visible, j0 + per);
                    first.add(new Work(cost / pieces, () -> {
                        Rows t = begin(q, kv.kvHeads(), hh, r0, r1, r.scale(), bs, visible);
                        scan(t, q, kv, bs, j0, j1, true);
                        part.keep(piece, t.sc(), j0, j1);
                        return null;
                    }));
                }
                then.add(new Work(cost / visible, () -> {
                    Scratch sc = scratch.get();
                    sc.ensure(rPad, q.headDim(), bs, visible);
                    part.merge(sc, rCount);
                    setSinks(sc.sel, r.sink(), hh, group, rCount);
                    finish(sc, q, s, out, hh, qq, r0, group, rCount, rPad, visible);
                    return null;
                }));
            }
        }
        return first;
    }

    /** Tasks a request should make at least before its tasks are split, and the fewest blocks a piece takes. */
    private static final int SPLIT_TASKS = 32, MIN_PIECE_BLOCKS = 16;

    static int pieces(int tasks, int visible) {
        if (tasks >= SPLIT_TASKS) return 1;
        return Math.max(1, Math.min((SPLIT_TASKS + tasks - 1) / tasks, visible / MIN_PIECE_BLOCKS));
    }

    /** A task's output and its row of S, from the final softmax state and block statistics in {@code sc}. */
    private static void finish(Scratch sc, Queries q, BlockScores s, float[] out, int h, int qb, int r0, int group,
                               int rCount, int rPad, int visible) {
        writeOutput(sc, q, r0, group, h, rCount, out, null);
        for (int j = 0; j < visible; j++) {
            float max = 0f;
            for (int x = 0; x < rCount; x++) max = Math.max(max, FlashKernel.blockScore(sc, sc.sel, j, rPad, x, s.mode()));
            s.data()[s.index(h, qb, j)] = max;
        }
    }

    /**
     * The pieces of one split task: each piece's online-softmax state (max, sum, accumulator relative to its max)
     * and the block statistics of its blocks, at their block's slot.
     */
    private static final class Partial {
        final float[][] m, l, acc;
        final float[] statRef, statSum, statMax;
        final int rPad, dim;

        Partial(int pieces, int rPad, int dim, int blocks) {
            this.rPad = rPad;
            this.dim = dim;
            m = new float[pieces][];
            l = new float[pieces][];
            acc = new float[pieces][];
            statRef = new float[blocks * rPad];
            statSum = new float[blocks * rPad];
            statMax = new float[blocks * rPad];
        }

        /** Piece c's state from the worker's scratch (each piece writes its own slots: no two pieces share an element). */
        void keep(int c, Scratch sc, int j0, int j1) {
            m[c] = Arrays.copyOf(sc.sel.m, rPad);
            l[c] = Arrays.copyOf(sc.sel.l, rPad);
            acc[c] = Arrays.copyOf(sc.sel.acc, rPad * dim);
            System.arraycopy(sc.statRef, j0 * rPad, statRef, j0 * rPad, (j1 - j0) * rPad);
            System.arraycopy(sc.statSum, j0 * rPad, statSum, j0 * rPad, (j1 - j0) * rPad);
            System.arraycopy(sc.statMax, j0 * rPad, statMax, j0 * rPad, (j1 - j0) * rPad);
        }

        /**
         * The pieces as one state in {@code sc}: max M of the pieces' maxima, sum and accumulator rescaled to it
         * (a piece that saw no key has max -infinity and adds nothing), statistics for every block.
         */
        void merge(Scratch sc, int rCount) {
            sc.sel.reset(rPad, dim);
            for (int x = 0; x < rCount; x++) {
                float top = Float.NEGATIVE_INFINITY;
                for (float[] mc : m) top = Math.max(top, mc[x]);
                float sum = 0f;
                for (int c = 0; c < m.length; c++) {
                    if (m[c][x] == Float.NEGATIVE_INFINITY) continue;
                    float f = (float) Math.exp((double) m[c][x] - top);
                    sum += l[c][x] * f;
                    for (int e = 0; e < dim; e++) sc.sel.acc[x * dim + e] += acc[c][x * dim + e] * f;
                }
                sc.sel.m[x] = top;
                sc.sel.l[x] = sum;
            }
            System.arraycopy(statRef, 0, sc.statRef, 0, statRef.length);
            System.arraycopy(statSum, 0, sc.statSum, 0, statSum.length);
            System.arraycopy(statMax, 0, sc.statMax, 0, statMax.length);
        }
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
                blocks[h * qbs.count() + qb] = TopK.select(s, h, qb, qbs.visibleBlocks(qb, s.geometry().blockSize()), r.policy());
            }
        }
        return new BlockSelection(s.geometry(), qbs, s.kvHeads(), blocks);
    }

    // ---- SPEC 3 ----

    @Override
    public void sparse(SparseRequest r, float[] out) {
        Checks.sparse(r, out);
        invoke(sparseWork(r, out));
    }

    @Override
    public void sparse(SparseBatch batch, List<float[]> outputs) {
        Checks.sparseBatch(batch, outputs);
        List<Work> all = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) all.addAll(sparseWork(batch.get(i), outputs.get(i)));
        invoke(all);
    }

    private List<Work> sparseWork(SparseRequest r, float[] out) {
        Queries q = r.queries();
        KvCacheView kv = r.shared();
        BlockSelection sel = r.selection();
        int bs = sel.geometry().blockSize();
        int[] rowStart = sel.queryBlocks().rowStarts(q.positions(), sel.geometry().queryBlockSize());
        return work(sel.queryBlocks().count(), kv.kvHeads(),
                qb -> (long) (rowStart[qb + 1] - rowStart[qb]) * (longest(sel, qb) * bs + r.window()), (h, qb) -> {
            int r0 = rowStart[qb], r1 = rowStart[qb + 1];
            if (r0 == r1) return null;
            Rows t = begin(q, kv.kvHeads(), h, r0, r1, r.scale(), bs, 0);
            Scratch sc = t.sc();
            int group = t.group(), rCount = t.rCount(), rPad = t.rPad();
            int first = q.positions()[r0], end = q.positions()[r1 - 1] + 1;
            setSinks(sc.sel, r.sinkSel(), h, group, rCount);
            for (int j : sel.blocks(h, qb)) {
                int t0 = j * bs, n = Math.min(bs, end - t0);
                FlashKernel.consume(sc, sc.sel, Chunk.keys(kv, h, t0, n, sc), Chunk.values(kv, h, t0, n, sc),
                        t0, n, rCount, rPad, q.headDim(), true, -1);
            }
            sc.swa.reset(rPad, q.headDim());
            setSinks(sc.swa, r.sinkSwa(), h, group, rCount);
            if (r.window() > 0) {
                SwaCache swa = r.swa();
                setRange(sc, q, r0, r1, group, r.window());
                for (int t0 = Math.max(0, first - r.window() + 1); t0 < end; ) {
                    int n = Math.min(Math.min(bs, end - t0), Chunk.contiguous(swa, t0));
                    FlashKernel.consume(sc, sc.swa, Chunk.keys(swa, h, t0, n, sc), Chunk.values(swa, h, t0, n, sc),
                            t0, n, rCount, rPad, q.headDim(), true, -1);
                    t0 += n;
                }
            }
            writeOutput(sc, q, r0, group, h, rCount, out, r);
            return null;
        });
    }

    // ---- SPEC 5 ----

    @Override
    public DroppedMass droppedMass(DroppedMassRequest r) {
        Checks.droppedMass(r);
        Queries q = r.queries();
        KvSource kv = r.kv();
        BlockSelection sel = r.selection();
        int bs = sel.geometry().blockSize();
        int nqb = sel.queryBlocks().count();
        int[] rowStart = sel.queryBlocks().rowStarts(q.positions(), sel.geometry().queryBlockSize());
        double[] max = new double[kv.kvHeads() * nqb], sum = new double[kv.kvHeads() * nqb];
        invoke(work(nqb, kv.kvHeads(), qb -> (long) (rowStart[qb + 1] - rowStart[qb]) * (q.positions()[Math.max(0, rowStart[qb + 1] - 1)] + 1), (h, qb) -> {
            int r0 = rowStart[qb], r1 = rowStart[qb + 1];
            if (r0 == r1) return null;
            Rows t = begin(q, kv.kvHeads(), h, r0, r1, r.scale(), bs, q.positions()[r1 - 1] / bs + 1);
            Scratch sc = t.sc();
            int rCount = t.rCount(), rPad = t.rPad();
            setSinks(sc.sel, r.sink(), h, t.group(), rCount);
            scan(t, q, kv, bs, 0, q.positions()[r1 - 1] / bs + 1, false);
            for (int x = 0; x < rCount; x++) {
                // Dropped = the keys' share of the row's probability (1 without a sink) less the selected mass.
                double delta = FlashKernel.keyShare(sc.sel, x);
                for (int j : sel.blocks(h, qb)) delta -= FlashKernel.blockScore(sc, sc.sel, j, rPad, x, ScoreMode.MASS);
                delta = Math.max(0, delta);
                max[h * nqb + qb] = Math.max(max[h * nqb + qb], delta);
                sum[h * nqb + qb] += delta;
            }
            return null;
        }));
        double m = 0, total = 0;
        for (int i = 0; i < max.length; i++) {
            m = Math.max(m, max[i]);
            total += sum[i];
        }
        return new DroppedMass(m, total / ((double) q.rows() * q.heads()));
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }

    // ---- shared pieces ----

    /** One task's rows on this worker: queries loaded, full causal ranges set, selected branch reset. */
    private record Rows(Scratch sc, int h, int r0, int r1, int group, int rCount, int rPad) {
    }

    private Rows begin(Queries q, int kvHeads, int h, int r0, int r1, float scale, int chunk, int statBlocks) {
        Scratch sc = scratch.get();
        int group = q.heads() / kvHeads, rCount = (r1 - r0) * group, rPad = FlashKernel.pad(rCount);
        sc.ensure(rPad, q.headDim(), chunk, statBlocks);
        loadQueries(sc, q, r0, r1, h, group, scale, rPad);
        setRange(sc, q, r0, r1, group, 0);
        sc.sel.reset(rPad, q.headDim());
        return new Rows(sc, h, r0, r1, group, rCount, rPad);
    }

    /** Blocks {@code j0 .. j1-1} the task's last row can see, in order, recording block j's stats in slot j. */
    private static void scan(Rows t, Queries q, KvSource kv, int bs, int j0, int j1, boolean withValues) {
        int end = q.positions()[t.r1() - 1] + 1;
        for (int j = j0; j < j1 && j * bs < end; j++) {
            int t0 = j * bs, n = Math.min(bs, end - t0);
            FlashKernel.consume(t.sc(), t.sc().sel, Chunk.keys(kv, t.h(), t0, n, t.sc()),
                    withValues ? Chunk.values(kv, t.h(), t0, n, t.sc()) : null, t0, n, t.rCount(), t.rPad(), q.headDim(), withValues, j);
        }
    }

    private interface Task {
        Void run(int h, int qb) throws Exception;
    }

    /** A task and its cost estimate (query vectors times keys it reads), for ordering a batch's tasks. */
    private record Work(long cost, Callable<Void> task) {
    }

    /** One task per (KV head, query block) of one call, each with its query block's cost. */
    private static List<Work> work(int queryBlocks, int kvHeads, java.util.function.IntToLongFunction cost, Task task) {
        List<Work> tasks = new ArrayList<>(queryBlocks * kvHeads);
        for (int qb = queryBlocks - 1; qb >= 0; qb--) {
            long c = cost.applyAsLong(qb);
            for (int h = 0; h < kvHeads; h++) {
                int hh = h, qq = qb;
                tasks.add(new Work(c, () -> task.run(hh, qq)));
            }
        }
        return tasks;
    }

    /**
     * Runs the tasks on the pool, the costliest first (a longest-first schedule: in a batch of mixed lengths the
     * long sequences start at once and the short ones fill in around them).
     */
    private void invoke(List<Work> work) {
        if (work.isEmpty()) return;
        List<Callable<Void>> tasks = new ArrayList<>(work.size());
        work.stream().sorted(java.util.Comparator.comparingLong(Work::cost).reversed()).forEach(w -> tasks.add(w.task()));
        if (tasks.size() == 1) {
            // A lone task (decode with one KV head) runs on the caller: no hand-off to wait for.
            try {
                tasks.get(0).call();
            } catch (Exception e) {
                throw rethrow(e);
            }
            return;
        }
        try {
            for (Future<Void> f : pool.invokeAll(tasks)) f.get();
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Blocks in the longest of query block qb's selection lists (over KV heads). */
    private static int longest(BlockSelection sel, int qb) {
        int most = 0;
        for (int h = 0; h < sel.kvHeads(); h++) most = Math.max(most, sel.blocks(h, qb).length);
        return most;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) return re;
        if (t instanceof Error err) throw err;
        return new IllegalStateException(t);
    }

    /** Query vector {@code x = (row - r0) * group + (g - h * group)}, pre-scaled, into {@code qr} or {@code qt}. */
    private static void loadQueries(Scratch sc, Queries q, int r0, int r1, int h, int group, float scale, int rPad) {
        int dim = q.headDim();
        // Only the layout the logits kernel reads: rows for decode-sized tasks, transposed (padding zeroed) otherwise.
        boolean rows = FlashKernel.rowDots((r1 - r0) * group);
        if (!rows) Arrays.fill(sc.qt, 0, dim * rPad, 0f);
        for (int i = r0; i < r1; i++) {
            for (int gg = 0; gg < group; gg++) {
                int x = (i - r0) * group + gg;
                int off = q.offset(i, h * group + gg);
                for (int d = 0; d < dim; d++) {
                    float v = q.data()[off + d] * scale;
                    if (rows) sc.qr[x * dim + d] = v;
                    else sc.qt[d * rPad + x] = v;
                }
            }
        }
    }

    /** Visible range per query vector: {@code [pos - window + 1, pos]}, or {@code [0, pos]} for window 0. */
    private static void setRange(Scratch sc, Queries q, int r0, int r1, int group, int window) {
        for (int i = r0; i < r1; i++) {
            int pos = q.positions()[i];
            for (int gg = 0; gg < group; gg++) {
                int x = (i - r0) * group + gg;
                sc.lo[x] = window == 0 ? 0 : Math.max(0, pos - window + 1);
                sc.hi[x] = pos;
            }
        }
    }

    /** Query vector {@code x = (row - r0) * group + (g - h * group)} takes query head {@code g}'s sink logit. */
    private static void setSinks(Scratch.Branch br, float[] sink, int h, int group, int rCount) {
        if (sink == null) return;
        for (int x = 0; x < rCount; x++) br.sink[x] = sink[h * group + x % group];
    }

    /**
     * {@code out = gSel (.) oSel + gSwa (.) oSwa} for a sparse request (gates per head or per channel);
     * for the oracle ({@code sparse == null}), just {@code oSel}.
     */
    private static void writeOutput(Scratch sc, Queries q, int r0, int group, int h, int rCount, float[] out,
                                    SparseRequest sparse) {
        int dim = q.headDim();
        int selWidth = sparse == null ? 0 : sparse.gateWidth(sparse.gateSel());
        int swaWidth = sparse == null ? 0 : sparse.gateWidth(sparse.gateSwa());
        for (int x = 0; x < rCount; x++) {
            int i = r0 + x / group, g = h * group + x % group;
            int o = q.offset(i, g), gi = i * q.heads() + g;
            float a = (float) FlashKernel.normalizer(sc.sel, x);
            if (sparse == null) {
                for (int d = 0; d < dim; d++) out[o + d] = a * sc.sel.acc[x * dim + d];
                continue;
            }
            float b = (float) FlashKernel.normalizer(sc.swa, x);
            for (int d = 0; d < dim; d++) {
                float gs = SparseRequest.gate(sparse.gateSel(), selWidth, gi, d);
                float gw = SparseRequest.gate(sparse.gateSwa(), swaWidth, gi, d);
                out[o + d] = gs * a * sc.sel.acc[x * dim + d] + gw * b * sc.swa.acc[x * dim + d];
            }
        }
    }
}
