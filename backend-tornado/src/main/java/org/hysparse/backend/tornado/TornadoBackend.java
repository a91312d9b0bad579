package org.hysparse.backend.tornado;

import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.hysparse.api.*;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Backend {@code tornado}. A full layer's cache lives on the device in a {@link DeviceCache}: uploaded once,
 * then only appended rows travel, and the oracle and every sparse layer reading it (through its view) use
 * that one device buffer. Sizes that vary between calls travel in parameter arrays, so decode steps reuse
 * one compiled kernel. Calls are serialised: one device queue.
 */
final class TornadoBackend implements AttentionBackend {
    private final Devices.Found device;
    /**
     * Selection plans, the last one covering the largest scores, list count and budget seen, so that a smaller
     * call reuses it (each new plan is a TornadoVM compile, which a decode step after a two-query-block prefill
     * tail would otherwise pay). Replaced plans stay open until {@link #close}: closing one while other plans run
     * made the kit's concurrent-calls rule fail once on PoCL.
     */
    private final java.util.List<Plan> selections = new java.util.ArrayList<>();
    /**
     * The device copy of each KV pool (by identity), with one plan for all its sequences, freed when the pool closes
     * ({@link KvPool#onClose}; a standalone cache's pool closes with it); entries of pools collected without a close
     * go too, see {@link #deviceCache}.
     */
    private final Map<KvPool, DeviceCache> resident = new java.util.WeakHashMap<>();
    /** Every device copy with its pool, so that those of collected pools release their device memory. */
    private final java.util.List<Map.Entry<java.lang.ref.WeakReference<KvPool>, DeviceCache>> owners = new java.util.ArrayList<>();

    /** float16 caches in TornadoVM's half arrays, converted by the device's instructions ({@link Devices#nativeHalf}). */
    private final boolean nativeHalf;
    /**
     * Plans run each call as one CUDA graph, on grids fixed per plan ({@link Devices#graphs}), their host arrays
     * page-locked through these; null: calls.
     */
    private final HostPins pins;
    /** Each pool's kernels compiled for its shape ({@link Devices#specialized}). */
    private final boolean specialized;
    /** float16 prefill on tensor cores ({@link Devices#tensorCores}). */
    private final boolean tensorCores;

    /** Device bytes the backend's cache copies may hold together (option {@code memory}). */
    private final long memoryLimit;
    /** Pools whose close this backend listens for (once each, whatever number of device copies they had). */
    private final Map<KvPool, Boolean> hooked = new java.util.WeakHashMap<>();
    private volatile boolean closed;
    private int copiesMade;

    /**
     * {@code pins}: run calls on a cache as CUDA graphs, their host arrays page-locked through these (closed with this);
     * null: as calls. {@code memoryLimit}: device bytes the cache copies may hold together. {@code specialized}: each
     * pool's kernels compiled for its shape. {@code tensorCores}: float16 prefill on tensor cores.
     */
    TornadoBackend(Devices.Found device, boolean nativeHalf, HostPins pins, long memoryLimit, boolean specialized, boolean tensorCores) {
        this.device = device;
        this.nativeHalf = nativeHalf;
        this.pins = pins;
        this.memoryLimit = memoryLimit;
        this.specialized = specialized;
        this.tensorCores = tensorCores;
    }

    /** Whether each pool's kernels are compiled for its shape (option {@code specialize}); for tests. */
    boolean specialized() {
        return specialized;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("tornado backend is closed: its device memory and plans are gone; create another");
    }

    @Override public String name() { return TornadoProvider.NAME; }

    /** The device the options picked (the provider describes the default one). */
    @Override public String device() { return "TornadoVM " + device.label(); }

    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    /** Device buffers of the selection call, with the plan that reads them: room for sCap scores, listCap lists of selCap blocks. */
    private static final class Plan implements AutoCloseable {
        final Map<String, Object> arrays = new HashMap<>();
        final int sCap, listCap, selCap;
        WorkerGrid1D grid;
        TornadoExecutionPlan plan;

        Plan(int sCap, int listCap, int selCap) {
            this.sCap = sCap;
            this.listCap = listCap;
            this.selCap = selCap;
        }

        boolean covers(int s, int lists, int sel) {
            return sCap >= s && listCap >= lists && selCap >= sel;
        }

        FloatArray f(String n) { return (FloatArray) arrays.get(n); }
        IntArray i(String n) { return (IntArray) arrays.get(n); }

        @Override
        public void close() {
            Plans.close(plan);
        }
    }

    // ---- SPEC 1 ----

    @Override
    public synchronized void oracle(OracleRequest r, OracleOutput output) {
        Checks.oracle(r, output);
        runOracle(r, output);
    }

    /** Runs the oracle; the device cache it ran on then holds every query vector's mass per block. */
    private DeviceCache runOracle(OracleRequest r, OracleOutput output) {
        return runOracle(List.of(r), List.of(output));
    }

    /**
     * SPEC 1 and SPEC 2 in one launch where the call is decode-sized and its budget fits the plan's lists: the oracle
     * graph ranks S's blocks right after computing it (S still comes back in {@code output}, and a mass target is cut
     * on the host as {@link #select} does); else the oracle, then {@link #select}.
     */
    @Override
    public synchronized BlockSelection oracleAndSelect(OracleRequest r, OracleOutput output, SelectionPolicy policy) {
        Checks.oracle(r, output);
        Checks.policyFor(r.scores(), policy);
        List<KvCache> caches = cachesOf(List.of(r));
        DeviceCache dc = oracleCopy(caches, List.of(r), List.of(output));
        BlockScores s = output.scores();
        int nqb = s.queryBlocks().count(), budget = budget(policy);
        if (!dc.ranks(r.queries().rows() * r.queries().heads(), nqb, budget)) {
            dc.oracle(caches, List.of(r), List.of(output));
            return select(new SelectionRequest(s, policy));
        }
        int[][] ranked = dc.oracle(caches, List.of(r), List.of(output), policy, budget);
        Checks.selection(new SelectionRequest(s, policy));
        return selection(ranked, s, policy);
    }

    /** The most blocks a list of {@code policy} takes: what the device ranking runs up to. */
    private static int budget(SelectionPolicy policy) {
        return switch (policy) {
            case SelectionPolicy.TopK t -> t.k();
            case SelectionPolicy.MassTarget m -> m.kMax();
        };
    }

    /**
     * The oracle for requests on sequences of one pool as one launch (the caller has checked they may share one: see
     * {@link #oracle(OracleBatch, List)}).
     */
    private DeviceCache runOracle(List<OracleRequest> requests, List<OracleOutput> outputs) {
        List<KvCache> caches = cachesOf(requests);
        DeviceCache dc = oracleCopy(caches, requests, outputs);
        dc.oracle(caches, requests, outputs);
        return dc;
    }

    /** Each request's full-layer cache, its head dimension checked first. */
    private List<KvCache> cachesOf(List<OracleRequest> requests) {
        List<KvCache> caches = new java.util.ArrayList<>();
        for (OracleRequest r : requests) {
            checkDim(r.queries().headDim());
            caches.add(cacheOf(r.kv()));
        }
        return caches;
    }

    /** The device copy of the pool of {@code caches} (the requests' caches, in order), with room for these oracle requests. */
    private DeviceCache oracleCopy(List<KvCache> caches, List<OracleRequest> requests, List<OracleOutput> outputs) {
        int vectors = 0, qbs = 0, seq = 0, rows = 0;
        for (int i = 0; i < requests.size(); i++) {
            Queries q = requests.get(i).queries();
            KvCache cache = caches.get(i);
            vectors += q.rows() * q.heads();
            qbs += outputs.get(i).scores().queryBlocks().count();
            seq = Math.max(seq, Math.max(cache.length(), outputs.get(i).scores().kvBlocks() * cache.blockSize()));
            rows = Math.max(rows, q.rows());
        }
        // A full layer's cache is read next by its sparse layers, on the same rows, each with a window ring in this
        // copy's buffer: a first copy made without ring slots was made again at the first of them (the whole cache
        // uploaded and every graph compiled a second time). So the first copy reserves the ring slots a sparse call
        // would ask for: MIN_RINGS of them, each for these rows and the paper's window. A copy that exists is kept.
        // Within the memory limit only (see deviceCache): a copy that fits without them is not refused for them.
        var need = new DeviceCache.Caps(tokens(caches.get(0)), vectors, qbs, 1, 0, 0, seq, caches.size());
        var reserved = new DeviceCache.Caps(need.tokens(), vectors, qbs, rows + DeviceCache.RESERVED_WINDOW, 1, 0, seq, caches.size());
        return deviceCache(caches, need, reserved);
    }

    /**
     * A batch runs as one launch when its requests differ only in their sequences and rows: one scale, one score
     * mode, the same sink logits and query-block size (a layer's batch has those), else request by request.
     */
    @Override
    public synchronized void oracle(OracleBatch batch, List<OracleOutput> outputs) {
        Checks.oracleBatch(batch, outputs);
        OracleRequest r0 = batch.get(0);
        boolean one = batch.requests().stream().allMatch(r -> r.scale() == r0.scale() && r.scores() == r0.scores()
                && java.util.Arrays.equals(r.sink(), r0.sink()) && r.geometry().equals(r0.geometry()) && r.queries().heads() == r0.queries().heads());
        if (one) {
            runOracle(batch.requests(), outputs);
        } else {
            for (int i = 0; i < batch.size(); i++) runOracle(batch.get(i), outputs.get(i));
        }
    }

    // ---- SPEC 2 ----

    @Override
    public synchronized BlockSelection select(SelectionRequest r) {
        Checks.selection(r);
        ensureOpen();
        BlockScores s = r.scores();
        SelectionPolicy policy = r.policy();
        int nqb = s.queryBlocks().count(), nb = s.kvBlocks(), hkv = s.kvHeads();
        int budget = budget(policy);
        int selNeed = DeviceCache.bucket(Math.min(budget, nb));
        int sNeed = DeviceCache.bucket((long) hkv * nqb * nb), listNeed = DeviceCache.bucket((long) hkv * nqb);
        Plan p = selections.isEmpty() ? null : selections.getLast();
        if (p == null || !p.covers(sNeed, listNeed, selNeed)) {
            p = p == null ? selectPlan(sNeed, listNeed, selNeed)
                    : selectPlan(Math.max(sNeed, p.sCap), Math.max(listNeed, p.listCap), Math.max(selNeed, p.selCap));
            selections.add(p);
        }
        int selCap = p.selCap, listCap = p.listCap;
        Plans.copyIn(s.data(), p.f("s"));
        IntArray params = p.i("params");
        params.set(Kernels.HKV, hkv);
        params.set(Kernels.NQB, nqb);
        params.set(Kernels.NB_STRIDE, nb);
        params.set(Kernels.SEL_STRIDE, selCap);
        params.set(Kernels.BUDGET, budget);
        params.set(Kernels.SINK, policy.sink() ? 1 : 0);
        params.set(Kernels.LOCAL_BLOCKS, policy.local());
        params.set(Kernels.COUNT_AT, listCap * selCap);
        for (int qb = 0; qb < nqb; qb++) params.set(Kernels.PARAMS + qb, s.queryBlocks().visibleBlocks(qb, s.geometry().blockSize()));
        p.grid.setGlobalWork((long) hkv * nqb * Kernels.LOCAL, 1, 1);
        Plans.run(p.plan, 0);
        return selection(DeviceCache.rankedLists(p.i("sel"), hkv * nqb, selCap, listCap * selCap), s, policy);
    }

    /** The selection from the device's rankings of each (KV head, query block) of {@code s}, in list order: each {@link #cut}. */
    private static BlockSelection selection(int[][] ranked, BlockScores s, SelectionPolicy policy) {
        int nqb = s.queryBlocks().count();
        int[][] blocks = new int[ranked.length][];
        for (int list = 0; list < blocks.length; list++) {
            int qb = list % nqb;
            blocks[list] = cut(ranked[list], s, list / nqb, qb, s.queryBlocks().visibleBlocks(qb, s.geometry().blockSize()), policy);
        }
        return new BlockSelection(s.geometry(), s.queryBlocks(), s.kvHeads(), blocks);
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
        Plan p = new Plan(sCap, listCap, selCap);
        FloatArray s = new FloatArray(sCap);
        // Query blocks' visible counts ride in the parameters, list lengths after the lists: one transfer each way fewer.
        IntArray params = new IntArray(Kernels.PARAMS + listCap), sel = new IntArray(listCap * selCap + listCap), flags = new IntArray(sCap);
        p.arrays.putAll(Map.of("s", s, "params", params, "sel", sel));
        TaskGraph g = new TaskGraph("s")
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, s, params)
                .task("rank", Kernels::rankBlocks, new KernelContext(), s, params, flags, sel)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, sel);
        p.grid = Plans.grid(listCap);
        // Calls, not a CUDA graph: its arrays are TornadoVM's, whose page locks any plan's teardown drops (see HostPins;
        // before that was found, a graph here gave the kit's needle selection wrong), and a selection is one
        // kernel between two small copies, so a graph would save little.
        p.plan = Plans.open(device.device(), new GridScheduler("s.rank", p.grid), false, g);
        return p;
    }

    // ---- SPEC 3 ----

    @Override
    public synchronized void sparse(SparseRequest r, float[] out) {
        Checks.sparse(r, out);
        runSparse(List.of(r), List.of(out));
    }

    /**
     * A batch runs as one launch when its requests differ only in their sequences, rows, gates and window rings: one
     * scale, window and gate widths, the same sink logits and query-block size, else request by request.
     */
    @Override
    public synchronized void sparse(SparseBatch batch, List<float[]> outputs) {
        Checks.sparseBatch(batch, outputs);
        SparseRequest r0 = batch.get(0);
        boolean one = batch.requests().stream().allMatch(r -> r.scale() == r0.scale() && r.window() == r0.window()
                && r.gateWidth(r.gateSel()) == r0.gateWidth(r0.gateSel()) && r.gateWidth(r.gateSwa()) == r0.gateWidth(r0.gateSwa())
                && java.util.Arrays.equals(r.sinkSel(), r0.sinkSel()) && java.util.Arrays.equals(r.sinkSwa(), r0.sinkSwa())
                && r.selection().geometry().equals(r0.selection().geometry()) && r.queries().heads() == r0.queries().heads());
        if (one) {
            runSparse(batch.requests(), outputs);
        } else {
            for (int i = 0; i < batch.size(); i++) runSparse(List.of(batch.get(i)), List.of(outputs.get(i)));
        }
    }

    private void runSparse(List<SparseRequest> requests, List<float[]> outs) {
        List<KvCache> caches = new java.util.ArrayList<>();
        List<SwaCache> swas = new java.util.ArrayList<>();
        int vectors = 0, qbs = 0, longest = 0, seq = 0, ring = 1;
        for (SparseRequest r : requests) {
            checkDim(r.queries().headDim());
            KvCache cache = r.shared().cache();
            // The window ring lives in the shared cache's device buffer, so it must be stored the same way.
            if (r.window() > 0 && r.swa().precision() != cache.precision()) {
                throw new IllegalArgumentException("swa: expected the shared cache's precision " + cache.precision().shortName()
                        + " on the tornado backend but got " + r.swa().precision().shortName());
            }
            if (r.window() > 0) {
                swas.add(r.swa());
                ring = Math.max(ring, r.swa().capacity());
            }
            caches.add(cache);
            vectors += r.queries().rows() * r.queries().heads();
            qbs += r.selection().queryBlocks().count();
            longest = Math.max(longest, DeviceCache.longestList(r.selection()));
            seq = Math.max(seq, cache.length());
        }
        DeviceCache existing = resident.get(caches.get(0).pool());
        int rings = swas.isEmpty() ? 0 : existing == null ? (int) swas.stream().distinct().count() : existing.ringsWith(swas);
        var need = new DeviceCache.Caps(tokens(caches.get(0)), vectors, qbs, ring, rings, longest, seq, caches.size());
        deviceCache(caches, need, null).sparse(requests, outs);
    }

    // ---- SPEC 5: the oracle kernel's per-row block masses, summed over the selection on the host ----

    @Override
    public synchronized DroppedMass droppedMass(DroppedMassRequest r) {
        Checks.droppedMass(r);
        Queries q = r.queries();
        BlockSelection sel = r.selection();
        OracleRequest or = new OracleRequest(q, r.kv(), sel.geometry(), r.scale(), ScoreMode.MASS, r.sink());
        DeviceCache dc = runOracle(or, OracleOutput.allocate(or));
        FloatArray masses = dc.masses();
        int nbStride = dc.blockStride(), group = q.heads() / r.kv().kvHeads(), bs = sel.geometry().blockSize();
        double max = 0, sum = 0;
        for (int i = 0; i < q.rows(); i++) {
            int qb = sel.queryBlocks().indexOf(q.positions()[i], sel.geometry().queryBlockSize());
            int visible = q.positions()[i] / bs + 1;
            for (int g = 0; g < q.heads(); g++) {
                int at = (i * q.heads() + g) * nbStride;
                // Dropped = the keys' share of the row's probability (1 without a sink) less the selected blocks' mass.
                double delta = 0;
                for (int j = 0; j < visible; j++) delta += masses.get(at + j);
                for (int j : sel.blocks(g / group, qb)) delta -= masses.get(at + j);
                delta = Math.max(0, delta);
                max = Math.max(max, delta);
                sum += delta;
            }
        }
        return new DroppedMass(max, sum / ((double) q.rows() * q.heads()));
    }

    /** The graph the last oracle call on {@code cache} ran through ("o", or its decode-sized twin "o1"); for tests. */
    synchronized String lastOracleGraph(KvCache cache) {
        return resident.get(cache.pool()).lastOracleGraph();
    }

    /** What the plan of {@code cache}'s pool's device copy has room for. */
    synchronized DeviceCache.Caps caps(KvCache cache) {
        return resident.get(cache.pool()).caps;
    }

    /** Attention launches through the device copy of {@code cache}'s pool; for tests. */
    synchronized int launches(KvCache cache) {
        return resident.get(cache.pool()).launches;
    }

    /** Oracle calls whose selection the device ranked in the same launch ({@link #oracleAndSelect}); for tests. */
    synchronized int rankedOnDevice(KvCache cache) {
        return resident.get(cache.pool()).rankedOnDevice;
    }

    /** Runs of the append graph of {@code cache}'s pool's device copy (rows no attention launch carried); for tests. */
    synchronized int appendRuns(KvCache cache) {
        return resident.get(cache.pool()).appendRuns;
    }

    /** Attention launches that ran the tiled kernel ({@link Kernels#attendTile}); for tests. */
    synchronized int tiledLaunches(KvCache cache) {
        return resident.get(cache.pool()).tiledLaunches;
    }

    /** Device copies made so far, each an upload of its pool and a compile of its plan; for tests. */
    synchronized int copiesMade() {
        return copiesMade;
    }

    /** Device copies held now: one per pool read (a standalone cache is a pool of its own); for tests. */
    synchronized int deviceCopies() {
        return resident.size();
    }

    /**
     * Token room the device copy of {@code cache}'s pool needs: every page the pool has made (the device addresses
     * a page by its pool number), and the sequence's own length. A pool with a page limit (a server's KV budget, as
     * vLLM sizes its pool up front) gets room for all of it at once: it will grow there, and each growth is a compile.
     */
    private static int tokens(KvCache cache) {
        KvPool pool = cache.pool();
        long pages = pool.maxPages() < Integer.MAX_VALUE ? pool.maxPages() : pool.pagesAllocated();
        return (int) Math.min(Integer.MAX_VALUE / 2, Math.max(cache.length(), pages * pool.blockSize()));
    }

    /** Device bytes of K and V held for all resident caches (their capacity, in each cache's precision). */
    synchronized long residentBytes() {
        return owners.stream().mapToLong(e -> e.getValue().deviceBytes()).sum();
    }

    @Override
    public long deviceMemoryBytes() {
        return residentBytes();
    }

    /** A pool closed: its device copy goes with it, at once. */
    private synchronized void release(KvPool pool) {
        DeviceCache dc = resident.remove(pool);
        if (dc == null) return;
        owners.removeIf(e -> e.getValue() == dc);
        dc.close();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        selections.forEach(Plan::close);
        selections.clear();
        owners.forEach(e -> e.getValue().close());
        owners.clear();
        resident.clear();
        if (pins != null) pins.close();
    }

    // ---- shared pieces ----

    private static void checkDim(int d) {
        if (d > Kernels.DMAX) throw new IllegalArgumentException("headDim: expected <= " + Kernels.DMAX + " on the tornado backend but got " + d);
    }

    private static KvCache cacheOf(KvSource kv) {
        return switch (kv) {
            case KvCache c -> c;
            case KvCacheView v -> v.cache();
            case SwaCache w -> throw new IllegalArgumentException("kv: expected a full layer's cache or its view but got a sliding-window cache");
        };
    }

    /** The device copy of the pool of {@code caches} (one pool), every one of them synced; see the other overload. */
    private DeviceCache deviceCache(List<KvCache> caches, DeviceCache.Caps need, DeviceCache.Caps reserve) {
        DeviceCache dc = deviceCache(caches.get(0), need, reserve);
        for (int i = 1; i < caches.size(); i++) dc.sync(caches.get(i));
        return dc;
    }

    /**
     * The device copy of {@code cache}, with the rows appended since the last call written into it. A call
     * that needs more room than it has replaces it by a larger one (capacities never shrink, so a decode after
     * a prefill keeps the prefill's plan); device caches of collected caches are closed here. {@code reserve}
     * (null: none), which covers {@code need}: the room a pool's first copy takes instead, where it fits the limit.
     */
    private DeviceCache deviceCache(KvCache cache, DeviceCache.Caps need, DeviceCache.Caps reserve) {
        ensureOpen();
        owners.removeIf(e -> {
            boolean gone = e.getKey().get() == null;
            if (gone) e.getValue().close();
            return gone;
        });
        KvPool pool = cache.pool();
        DeviceCache dc = resident.get(pool);
        if (dc != null && dc.caps.covers(need)) {
            dc.sync(cache);
            return dc;
        }
        DeviceCache.Caps caps = dc != null ? dc.caps.grow(need) : DeviceCache.Caps.of(need);
        long others = residentBytes() - (dc != null ? dc.deviceBytes() : 0);
        if (dc == null && reserve != null && others + DeviceCache.deviceBytes(pool, DeviceCache.Caps.of(reserve)) <= memoryLimit) {
            caps = DeviceCache.Caps.of(reserve);
        }
        long bytes = DeviceCache.deviceBytes(pool, caps);
        // Refused before anything is freed or allocated: the cache, its current device copy and the backend stay as they were.
        if (others + bytes > memoryLimit) {
            throw new IllegalStateException("tornado: the device copy of a KV pool (" + pool.pagesAllocated() + " pages, this sequence "
                    + cache.length() + " tokens) needs " + bytes + " bytes of device memory but " + others + " of the backend's limit of "
                    + memoryLimit + " are held by other pools; raise the limit with the backend option memory=<size> (and TornadoVM's"
                    + " -Dtornado.device.memory; HYSPARSE_TORNADO_MEMORY for the hysparse command), or close caches");
        }
        if (dc != null) {
            // The old copy goes first, so that old and new never hold device memory together.
            DeviceCache old = dc;
            owners.removeIf(e -> e.getValue() == old);
            resident.remove(pool);
            old.close();
        }
        try {
            dc = new DeviceCache(cache, caps, device.device(), nativeHalf, pins, specialized, tensorCores);
        } catch (RuntimeException e) {
            // TornadoVM failed to compile or allocate: the cache is untouched and its pool has no device copy (the next
            // call makes one again), and the backend goes on serving other pools.
            throw new IllegalStateException("tornado: making the device copy of a KV pool (" + bytes + " bytes of device memory,"
                    + " kernels compiled for it) failed: " + e + "; the cache is intact and the backend usable", e);
        }
        resident.put(pool, dc);
        copiesMade++;
        if (hooked.put(pool, Boolean.TRUE) == null) pool.onClose(() -> release(pool));
        owners.add(Map.entry(new java.lang.ref.WeakReference<>(pool), dc));
        return dc;
    }
}
