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
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    CpuBackend(int threads) {
        this.pool = new ForkJoinPool(threads);
    }

    @Override public String name() { return CpuProvider.NAME; }

    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    // ---- SPEC 1 ----

    @Override
    public void oracle(OracleRequest r, OracleOutput output) {
        Checks.oracle(r, output);
        invoke(oracleWork(r, output));
    }

    @Override
    public void oracle(OracleBatch batch, List<OracleOutput> outputs) {
        Checks.oracleBatch(batch, outputs);
        List<Work> all = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) all.addAll(oracleWork(batch.get(i), outputs.get(i)));
        invoke(all);
    }

    private List<Work> oracleWork(OracleRequest r, OracleOutput output) {
        Queries q = r.queries();
        KvSource kv = r.kv();
        BlockScores s = output.scores();
        int bs = r.geometry().blockSize();
        int[] rowStart = s.queryBlocks().rowStarts(q.positions(), r.geometry().queryBlockSize());
        Arrays.fill(s.data(), 0f);
        float[] out = output.out();
        return work(s.queryBlocks().count(), kv.kvHeads(), qb -> (long) (rowStart[qb + 1] - rowStart[qb]) * q.positions()[rowStart[qb + 1] - 1], (h, qb) -> {
            int r0 = rowStart[qb], r1 = rowStart[qb + 1];
            if (r0 == r1) return null;
            int visible = q.positions()[r1 - 1] / bs + 1;
            Rows t = begin(q, kv.kvHeads(), h, r0, r1, r.scale(), bs, visible);
            Scratch sc = t.sc();
            int group = t.group(), rCount = t.rCount(), rPad = t.rPad();
            setSinks(sc.sel, r.sink(), h, group, rCount);
            scanVisible(t, q, kv, bs, true);
            writeOutput(sc, q, r0, group, h, rCount, out, null);
            for (int j = 0; j < visible; j++) {
                float max = 0f;
                for (int x = 0; x < rCount; x++) max = Math.max(max, FlashKernel.blockScore(sc, sc.sel, j, rPad, x, s.mode()));
                s.data()[s.index(h, qb, j)] = max;
            }
            return null;
        });
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
            scanVisible(t, q, kv, bs, false);
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

    /** Every block the task's last row can see, in order, recording block j's stats in slot j. */
    private static void scanVisible(Rows t, Queries q, KvSource kv, int bs, boolean withValues) {
        int end = q.positions()[t.r1() - 1] + 1;
        for (int j = 0; j * bs < end; j++) {
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
