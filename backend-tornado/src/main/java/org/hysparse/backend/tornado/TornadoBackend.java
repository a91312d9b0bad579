package org.hysparse.backend.tornado;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.hysparse.api.*;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Backend {@code tornado}. Each operation runs a compiled TornadoVM plan; plans are kept per size bucket
 * (powers of two), and every size that varies between calls travels in a parameter array, so decode
 * steps reuse one compiled kernel. A full layer's cache stays resident on the device: a plan uploads it
 * whole on its first run, and afterwards only the pages that appends touched travel (an append kernel
 * writes them into the resident buffer). Calls are serialised: one device queue.
 */
final class TornadoBackend implements AttentionBackend {
    private final Devices.Found device;
    private final Map<String, Plan> plans = new HashMap<>();
    /** Plans that hold a cache resident, per cache (identity) and operation. */
    private final Map<KvCache, Map<String, Plan>> resident = new java.util.WeakHashMap<>();
    /** Every resident plan with its cache, so that plans of collected caches release their device memory. */
    private final java.util.List<Map.Entry<java.lang.ref.WeakReference<KvCache>, Plan>> owners = new java.util.ArrayList<>();
    /** Pages an append may touch between two calls before the plan starts over with a full upload. */
    private static final int DELTA_PAGES = 4;
    /** Most splits of one query vector's blocks (split-K decode). */
    private static final int MAX_SPLITS = 32;

    TornadoBackend(Devices.Found device) {
        this.device = device;
    }

    @Override public String name() { return TornadoProvider.NAME; }

    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    /** Device buffers of one kind of call, with the plan that reads them. */
    private static final class Plan implements AutoCloseable {
        final Map<String, Object> arrays = new HashMap<>();
        final Map<String, WorkerGrid1D> grids = new HashMap<>();
        TornadoExecutionPlan plan;
        String key;
        /** Tokens of the resident cache already on the device; -1 before the first run. */
        int uploaded = -1;

        FloatArray f(String n) { return (FloatArray) arrays.get(n); }
        IntArray i(String n) { return (IntArray) arrays.get(n); }

        @Override
        public void close() {
            try {
                plan.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing a TornadoVM plan failed", e);
            }
        }
    }

    private static int bucket(long n) {
        long b = 1;
        while (b < n) b <<= 1;
        if (b > Integer.MAX_VALUE) throw new IllegalArgumentException("size: expected at most 2^30 elements on the device but got " + n);
        return (int) Math.max(b, 1);
    }

    // ---- SPEC 1 ----

    @Override
    public synchronized void oracle(OracleRequest r, OracleOutput output) {
        Checks.oracle(r, output);
        runOracle(r, output);
    }

    /** Runs the oracle plan; its "masses" array then holds every query vector's mass per block. */
    private Plan runOracle(OracleRequest r, OracleOutput output) {
        Queries q = r.queries();
        KvSource kv = r.kv();
        int b = r.geometry().blockSize(), d = q.headDim(), vectors = q.rows() * q.heads();
        checkDim(d);
        BlockScores s = output.scores();
        int nb = s.kvBlocks(), nqb = s.queryBlocks().count();
        int cpb = (b + Kernels.LOCAL - 1) / Kernels.LOCAL;
        int qCap = bucket((long) vectors * d), kvCap = bucket((long) nb * b * kv.kvHeads() * d), nbCap = bucket(nb);
        int vecCap = bucket(vectors), nqbCap = bucket(nqb + 1);
        // Enough work-groups to fill a large GPU in decode: split each row's blocks (at least 4 blocks a split),
        // but no more than 4096 split work-groups in all, so that prefill's many rows stay unsplit.
        int splits = Math.max(1, Math.min(Math.min(MAX_SPLITS, (nb + 3) / 4), 4096 / vectors));
        String key = "oracle/" + qCap + "/" + kvCap + "/" + nbCap + "/" + vecCap + "/" + nqbCap + "/" + cpb + "/" + splits + "/" + d;
        KvCache cache = cacheOf(kv);
        int pageElems = b * kv.kvHeads() * d;
        Plan p = residentPlan(cache, "oracle", key, b, () -> oraclePlan(qCap, kvCap, nbCap, vecCap, nqbCap, cpb, kv.kvHeads(), pageElems, splits, d));
        fillQueries(p, q, r.scale());
        IntArray params = p.i("params");
        sync(p, cache, b, "o.append");
        setShape(params, q, kv.kvHeads(), b, r.geometry().queryBlockSize(), kv.length());
        params.set(Kernels.NB_STRIDE, nbCap);
        params.set(Kernels.NQB, nqb);
        params.set(Kernels.FIRST_QB, s.queryBlocks().first());
        params.set(Kernels.CHUNK_STRIDE, nbCap * cpb);
        int[] rowStart = s.queryBlocks().rowStarts(q.positions(), r.geometry().queryBlockSize());
        for (int i = 0; i < rowStart.length; i++) p.i("rowStart").set(i, rowStart[i]);
        params.set(Kernels.SPLITS, splits);
        p.grids.get("o.oracle").setGlobalWork((long) vectors * splits * Kernels.LOCAL, 1, 1);
        p.grids.get("o.merge").setGlobalWork((long) vectors * Kernels.LOCAL, 1, 1);
        p.grids.get("o.scores").setGlobalWork(roundUp((long) kv.kvHeads() * nqb * nb), 1, 1);
        p.plan.execute();
        p.uploaded = cache.length();
        copyOut(p.f("out"), output.out(), vectors * d);
        copyOut(p.f("s"), s.data(), kv.kvHeads() * nqb * nb);
        return p;
    }

    private Plan oraclePlan(int qCap, int kvCap, int nbCap, int vecCap, int nqbCap, int cpb, int hkv, int pageElems, int splits, int d) {
        Plan p = new Plan();
        FloatArray q = new FloatArray(qCap), k = new FloatArray(kvCap), v = new FloatArray(kvCap), scale = new FloatArray(1);
        FloatArray newK = new FloatArray(DELTA_PAGES * pageElems), newV = new FloatArray(DELTA_PAGES * pageElems);
        FloatArray out = new FloatArray(qCap), stats = new FloatArray(vecCap * nbCap * cpb * 2), masses = new FloatArray(vecCap * nbCap);
        FloatArray s = new FloatArray(hkv * nqbCap * nbCap);
        FloatArray partial = new FloatArray(vecCap * splits * (d + 2));
        IntArray pos = new IntArray(vecCap), params = new IntArray(Kernels.PARAMS), rowStart = new IntArray(nqbCap + 1);
        p.arrays.putAll(Map.of("q", q, "k", k, "v", v, "scale", scale, "out", out, "s", s, "pos", pos, "params", params, "rowStart", rowStart));
        p.arrays.putAll(Map.of("masses", masses, "newK", newK, "newV", newV));
        TaskGraph g = new TaskGraph("o")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, k, v)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, q, pos, params, scale, rowStart, newK, newV)
                .task("append", Kernels::appendPages, new KernelContext(), newK, newV, params, k, v)
                .task("oracle", Kernels::attendOracle, new KernelContext(), q, k, v, pos, params, scale, partial, stats)
                .task("merge", Kernels::mergeSplits, new KernelContext(), partial, stats, pos, params, out, masses)
                .task("scores", Kernels::blockScores, new KernelContext(), masses, rowStart, params, s)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, out, s, masses);
        return finish(p, g, "o.append", "o.oracle", "o.merge", "o.scores");
    }

    // ---- SPEC 2 ----

    @Override
    public synchronized BlockSelection select(SelectionRequest r) {
        Checks.selection(r);
        BlockScores s = r.scores();
        SelectionPolicy policy = r.policy();
        int nqb = s.queryBlocks().count(), nb = s.kvBlocks(), hkv = s.kvHeads();
        int budget = switch (policy) {
            case SelectionPolicy.TopK t -> t.k();
            case SelectionPolicy.MassTarget m -> m.kMax();
        };
        int selCap = bucket(Math.min(budget, nb));
        int sCap = bucket((long) hkv * nqb * nb), listCap = bucket((long) hkv * nqb);
        String key = "select/" + sCap + "/" + listCap + "/" + selCap;
        Plan p = plans.computeIfAbsent(key, k -> selectPlan(sCap, listCap, selCap));
        copyIn(s.data(), p.f("s"));
        IntArray params = p.i("params");
        params.set(Kernels.HKV, hkv);
        params.set(Kernels.NQB, nqb);
        params.set(Kernels.NB_STRIDE, nb);
        params.set(Kernels.SEL_STRIDE, selCap);
        params.set(Kernels.BUDGET, budget);
        params.set(Kernels.SINK, policy.sink() ? 1 : 0);
        params.set(Kernels.LOCAL_BLOCKS, policy.local());
        for (int qb = 0; qb < nqb; qb++) p.i("visible").set(qb, s.queryBlocks().visibleBlocks(qb, s.geometry().blockSize()));
        p.grids.get("s.rank").setGlobalWork(roundUp((long) hkv * nqb), 1, 1);
        p.plan.execute();
        int[][] blocks = new int[hkv * nqb][];
        for (int list = 0; list < blocks.length; list++) {
            int[] ranked = new int[p.i("count").get(list)];
            for (int c = 0; c < ranked.length; c++) ranked[c] = p.i("sel").get(list * selCap + c);
            int qb = list % nqb;
            blocks[list] = cut(ranked, s, list / nqb, qb, s.queryBlocks().visibleBlocks(qb, s.geometry().blockSize()), policy);
        }
        return new BlockSelection(s.geometry(), s.queryBlocks(), hkv, blocks);
    }

    /**
     * The device's ranking, cut where a mass target is met (the S left out, summed in block order in
     * double and reduced in order of choice, at most delta), then sorted ascending.
     */
    private static int[] cut(int[] ranked, BlockScores s, int h, int qb, int visible, SelectionPolicy policy) {
        int keep = ranked.length;
        if (policy instanceof SelectionPolicy.MassTarget m) {
            int forced = forcedCount(policy, visible, ranked.length);
            double left = 0;
            for (int j = 0; j < visible; j++) {
                boolean isForced = false;
                for (int c = 0; c < forced; c++) isForced |= ranked[c] == j;
                if (!isForced) left += s.get(h, qb, j);
            }
            keep = forced;
            while (keep < ranked.length && !(left <= m.delta())) left -= s.get(h, qb, ranked[keep++]);
        }
        int[] out = java.util.Arrays.copyOf(ranked, keep);
        java.util.Arrays.sort(out);
        return out;
    }

    /** How many of the ranking's leading entries are forced: the kernel's rule, sink first, then distinct local blocks. */
    private static int forcedCount(SelectionPolicy policy, int visible, int budget) {
        int n = policy.sink() && visible > 0 && budget > 0 ? 1 : 0;
        for (int l = 0; l < policy.local() && visible - 1 - l >= 0 && n < budget; l++) {
            if (!(policy.sink() && visible - 1 - l == 0)) n++;
        }
        return n;
    }

    private Plan selectPlan(int sCap, int listCap, int selCap) {
        Plan p = new Plan();
        FloatArray s = new FloatArray(sCap);
        IntArray visible = new IntArray(listCap), params = new IntArray(Kernels.PARAMS), sel = new IntArray(listCap * selCap), count = new IntArray(listCap);
        IntArray flags = new IntArray(sCap);
        p.arrays.putAll(Map.of("s", s, "visible", visible, "params", params, "sel", sel, "count", count));
        TaskGraph g = new TaskGraph("s")
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, s, visible, params)
                .task("rank", Kernels::rankBlocks, new KernelContext(), s, visible, params, flags, sel, count)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, sel, count);
        return finish(p, g, "s.rank");
    }

    // ---- SPEC 3 ----

    @Override
    public synchronized void sparse(SparseRequest r, float[] out) {
        Checks.sparse(r, out);
        Queries q = r.queries();
        KvCacheView kv = r.shared();
        BlockSelection sel = r.selection();
        int b = sel.geometry().blockSize(), d = q.headDim(), vectors = q.rows() * q.heads();
        checkDim(d);
        int nb = (kv.length() + b - 1) / b, nqb = sel.queryBlocks().count();
        int maxSel = 1;
        for (int[] l : sel.blocks()) maxSel = Math.max(maxSel, l.length);
        int ring = r.window() > 0 ? r.swa().capacity() : 1;
        int qCap = bucket((long) vectors * d), kvCap = bucket((long) nb * b * kv.kvHeads() * d), vecCap = bucket(vectors);
        int ringCap = bucket((long) ring * kv.kvHeads() * d), listCap = bucket((long) kv.kvHeads() * nqb), selCap = bucket(maxSel);
        String key = "sparse/" + qCap + "/" + kvCap + "/" + vecCap + "/" + ringCap + "/" + listCap + "/" + selCap;
        KvCache cache = kv.cache();
        int pageElems = b * kv.kvHeads() * d;
        Plan p = residentPlan(cache, "sparse", key, b, () -> sparsePlan(qCap, kvCap, vecCap, ringCap, listCap, selCap, pageElems));
        fillQueries(p, q, r.scale());
        sync(p, cache, b, "p.append");
        if (r.window() > 0) {
            copyPage(r.swa().keyPage(r.swa().length() - 1), p.f("kw"), 0);
            copyPage(r.swa().valuePage(r.swa().length() - 1), p.f("vw"), 0);
        }
        IntArray params = p.i("params");
        setShape(params, q, kv.kvHeads(), b, sel.geometry().queryBlockSize(), kv.length());
        params.set(Kernels.NQB, nqb);
        params.set(Kernels.FIRST_QB, sel.queryBlocks().first());
        params.set(Kernels.WINDOW, r.window());
        params.set(Kernels.RING, ring);
        params.set(Kernels.SEL_STRIDE, selCap);
        for (int list = 0; list < sel.blocks().length; list++) {
            int[] blocks = sel.blocks()[list];
            p.i("count").set(list, blocks.length);
            for (int c = 0; c < blocks.length; c++) p.i("sel").set(list * selCap + c, blocks[c]);
        }
        for (int x = 0; x < vectors; x++) {
            p.f("gates").set(2 * x, r.gateSel()[x]);
            p.f("gates").set(2 * x + 1, r.gateSwa()[x]);
        }
        p.grids.get("p.sparse").setGlobalWork((long) vectors * Kernels.LOCAL, 1, 1);
        p.plan.execute();
        p.uploaded = cache.length();
        copyOut(p.f("out"), out, vectors * d);
    }

    private Plan sparsePlan(int qCap, int kvCap, int vecCap, int ringCap, int listCap, int selCap, int pageElems) {
        Plan p = new Plan();
        FloatArray q = new FloatArray(qCap), k = new FloatArray(kvCap), v = new FloatArray(kvCap), scale = new FloatArray(1);
        FloatArray newK = new FloatArray(DELTA_PAGES * pageElems), newV = new FloatArray(DELTA_PAGES * pageElems);
        FloatArray kw = new FloatArray(ringCap), vw = new FloatArray(ringCap), gates = new FloatArray(2 * vecCap), out = new FloatArray(qCap);
        IntArray pos = new IntArray(vecCap), params = new IntArray(Kernels.PARAMS), sel = new IntArray(listCap * selCap), count = new IntArray(listCap);
        p.arrays.putAll(Map.of("q", q, "k", k, "v", v, "scale", scale, "kw", kw, "vw", vw, "gates", gates, "out", out, "pos", pos, "params", params));
        p.arrays.putAll(Map.of("sel", sel, "count", count, "newK", newK, "newV", newV));
        TaskGraph g = new TaskGraph("p")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, k, v)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, q, kw, vw, pos, params, scale, sel, count, gates, newK, newV)
                .task("append", Kernels::appendPages, new KernelContext(), newK, newV, params, k, v)
                .task("sparse", Kernels::attendSparse, new KernelContext(), q, k, v, kw, vw, pos, params, scale, sel, count, gates, out)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
        return finish(p, g, "p.append", "p.sparse");
    }

    // ---- SPEC 5: the oracle kernel's per-row block masses, summed over the selection on the host ----

    @Override
    public synchronized DroppedMass droppedMass(DroppedMassRequest r) {
        Checks.droppedMass(r);
        Queries q = r.queries();
        BlockSelection sel = r.selection();
        OracleRequest or = new OracleRequest(q, r.kv(), sel.geometry(), r.scale());
        Plan p = runOracle(or, OracleOutput.allocate(or));
        int nbStride = p.i("params").get(Kernels.NB_STRIDE), group = q.heads() / r.kv().kvHeads();
        FloatArray masses = p.f("masses");
        double max = 0, sum = 0;
        for (int i = 0; i < q.rows(); i++) {
            int qb = sel.queryBlocks().indexOf(q.positions()[i], sel.geometry().queryBlockSize());
            for (int g = 0; g < q.heads(); g++) {
                double kept = 0;
                for (int j : sel.blocks(g / group, qb)) kept += masses.get((i * q.heads() + g) * nbStride + j);
                double delta = Math.max(0, 1 - kept);
                max = Math.max(max, delta);
                sum += delta;
            }
        }
        return new DroppedMass(max, sum / ((double) q.rows() * q.heads()));
    }

    @Override
    public synchronized void close() {
        plans.values().forEach(Plan::close);
        plans.clear();
        owners.forEach(e -> e.getValue().close());
        owners.clear();
        resident.clear();
    }

    // ---- shared pieces ----

    private Plan finish(Plan p, TaskGraph g, String... tasks) {
        GridScheduler scheduler = new GridScheduler();
        for (String t : tasks) {
            WorkerGrid1D w = new WorkerGrid1D(Kernels.LOCAL);
            w.setLocalWork(Kernels.LOCAL, 1, 1);
            scheduler.addWorkerGrid(t, w);
            p.grids.put(t, w);
        }
        // No fast-relaxed math: TopK's left-out S must add up bit for bit like the reference's doubles.
        p.plan = new TornadoExecutionPlan(g.snapshot()).withGridScheduler(scheduler).withDevice(device.device())
                .withCompilerFlags(TornadoVMBackendType.OPENCL, "-w");
        return p;
    }

    private static long roundUp(long n) {
        return Math.max(Kernels.LOCAL, (n + Kernels.LOCAL - 1) / Kernels.LOCAL * Kernels.LOCAL);
    }

    private static void checkDim(int d) {
        if (d > 256) throw new IllegalArgumentException("headDim: expected <= 256 on the tornado backend but got " + d);
    }

    private static void setShape(IntArray params, Queries q, int hkv, int b, int bq, int tokens) {
        params.set(Kernels.ROWS, q.rows());
        params.set(Kernels.HQ, q.heads());
        params.set(Kernels.HKV, hkv);
        params.set(Kernels.DIM, q.headDim());
        params.set(Kernels.BLOCK, b);
        params.set(Kernels.QBLOCK, bq);
        params.set(Kernels.TOKENS, tokens);
    }

    private static void fillQueries(Plan p, Queries q, float scale) {
        copyIn(q.data(), p.f("q"));
        for (int i = 0; i < q.rows(); i++) p.i("pos").set(i, q.positions()[i]);
        p.f("scale").set(0, scale);
    }

    private static KvCache cacheOf(KvSource kv) {
        return switch (kv) {
            case KvCache c -> c;
            case KvCacheView v -> v.cache();
            case SwaCache w -> throw new IllegalArgumentException("kv: expected a full layer's cache or its view but got a sliding-window cache");
        };
    }

    /**
     * The plan for {@code op} that keeps {@code cache} resident. A different size bucket, or more new pages
     * than one call can carry, replaces it: the new plan uploads the whole cache on its first run.
     */
    private Plan residentPlan(KvCache cache, String op, String key, int b, java.util.function.Supplier<Plan> make) {
        owners.removeIf(e -> {
            boolean gone = e.getKey().get() == null;
            if (gone) e.getValue().close();
            return gone;
        });
        Map<String, Plan> byOp = resident.computeIfAbsent(cache, c -> new HashMap<>());
        Plan p = byOp.get(op);
        boolean tooManyNewPages = p != null && p.uploaded >= 0
                && (cache.length() - 1) / b - p.uploaded / b + 1 > DELTA_PAGES;
        if (p != null && (!p.key.equals(key) || tooManyNewPages)) {
            Plan old = p;
            owners.removeIf(e -> e.getValue() == old);
            old.close();
            p = null;
        }
        if (p == null) {
            p = make.get();
            p.key = key;
            byOp.put(op, p);
            owners.add(Map.entry(new java.lang.ref.WeakReference<>(cache), p));
        }
        return p;
    }

    /**
     * Before the plan's first run: the whole cache, page by page (the device layout is the host's page
     * layout). Afterwards: only the pages from the last one uploaded to the current end, for the append kernel.
     */
    private static void sync(Plan p, KvCache cache, int b, String appendTask) {
        int pageElems = b * cache.kvHeads() * cache.headDim();
        int tokens = cache.length();
        IntArray params = p.i("params");
        int len = 0;
        if (p.uploaded < 0) {
            for (int j = 0; j * b < tokens; j++) {
                copyPage(cache.keyBlock(j), p.f("k"), (long) j * pageElems);
                copyPage(cache.valueBlock(j), p.f("v"), (long) j * pageElems);
            }
        } else if (tokens > p.uploaded) {
            int first = p.uploaded / b, last = (tokens - 1) / b;
            for (int j = first; j <= last; j++) {
                copyPage(cache.keyBlock(j), p.f("newK"), (long) (j - first) * pageElems);
                copyPage(cache.valueBlock(j), p.f("newV"), (long) (j - first) * pageElems);
            }
            params.set(Kernels.DELTA_AT, first * pageElems);
            len = (last - first + 1) * pageElems;
        }
        params.set(Kernels.DELTA_LEN, len);
        p.grids.get(appendTask).setGlobalWork(roundUp(len), 1, 1);
    }

    /** float32 pages are copied in bulk; 16-bit pages are widened element by element, allocating nothing. */
    private static void copyPage(KvPage page, FloatArray dst, long at) {
        switch (page) {
            case KvPage.F32 f -> MemorySegment.copy(f.data(), 0, dst.getSegment(), ValueLayout.JAVA_FLOAT, at * Float.BYTES, f.data().length);
            case KvPage.Half h -> {
                for (int i = 0; i < h.data().length; i++) dst.set((int) at + i, h.get(i));
            }
        }
    }

    private static void copyIn(float[] src, FloatArray dst) {
        MemorySegment.copy(src, 0, dst.getSegment(), ValueLayout.JAVA_FLOAT, 0, src.length);
    }

    private static void copyOut(FloatArray src, float[] dst, int n) {
        MemorySegment.copy(src.getSegment(), ValueLayout.JAVA_FLOAT, 0, dst, 0, n);
    }
}
