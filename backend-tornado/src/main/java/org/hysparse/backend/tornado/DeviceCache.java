package org.hysparse.backend.tornado;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.hysparse.api.*;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.TornadoNativeArray;

/**
 * One full layer's KV pool resident on the device, with the one execution plan whose graphs read it: every
 * sequence of the pool (a standalone {@link KvCache} is the one sequence of its own pool) is read through its
 * block table, which travels with each call, so a new sequence costs no compile, only the upload of its rows; a
 * fork's shared pages are the same device pages. Physical pages are the pool's own page numbers.
 * Graph {@code a} owns the K/V buffers: its first run uploads the cache whole, later runs write only the
 * rows appended since (staged {@link #STAGE} tokens at a time). Graphs {@code o} (oracle, SPEC 1) and
 * {@code p} (sparse, SPEC 3) consume those same buffers (TornadoVM's persistOnDevice / consumeFromDevice),
 * so the cache and all its views occupy one device buffer and no layer moves KV between host and device.
 * The window rings of the sparse layers reading this cache are resident too, in further pages of the same
 * buffers (one ring slot per {@link SwaCache}, kept up to date the same way); a plan sized for a prefill also has
 * decode-sized twins {@code o1} and {@code p1} of {@code o} and {@code p} on the same buffers (see
 * {@link #DECODE_VECTORS}). KV keeps its precision on the
 * device (see {@link Kernels}). Capacities only grow: a call that needs more tokens, query vectors, query
 * blocks, window slots or rings than the plan has gets a new plan.
 */
final class DeviceCache implements AutoCloseable {
    /** Tokens one run of the append graph carries: a decode step's row costs a small transfer, not a page. */
    static final int STAGE = 16;
    /**
     * Most splits of one work-group's blocks (split-K decode), and most split work-groups in all: 1024 for a graph of
     * few query vectors (one sequence's decode), up to 4096 for a graph sized for a batch, whose decode rows are many
     * work-groups of sequences of different lengths (with 1024, 64 sequences of 4k..32k tokens got two splits each and
     * the longest ones' work-groups ran alone at the end). The split states take room in proportion, in every graph.
     */
    static final int MAX_SPLITS = 128, SPLIT_GROUPS = 4096, SPLIT_GROUPS_MIN = 1024;

    /** Split work-groups a graph of {@code vec} query vectors allows (see {@link #SPLIT_GROUPS}). */
    static int splitGroups(int vec) {
        return (int) Math.min(SPLIT_GROUPS, Math.max(SPLIT_GROUPS_MIN, 2L * vec));
    }
    /**
     * Ring slots a plan starts with once a window cache reads through it: a new plan costs a TornadoVM compile,
     * and a full layer is read by several sparse layers (HySparse: about nine), so growing 1, 2, 4, 8, 16 would
     * cost four compiles in the first pass; a ring is a few pages.
     */
    static final int MIN_RINGS = 16;
    /**
     * Window tokens, past the call's own rows, that each ring slot reserved by an oracle's first copy holds (see
     * {@link TornadoBackend}'s {@code oracleCopy}): the paper's sliding window W.
     */
    static final int RESERVED_WINDOW = 128;
    /**
     * Query vectors of the decode-sized twins {@code o1} and {@code p1} of graphs {@code o} and {@code p}, which a
     * plan has when its capacity is larger: TornadoVM moves a graph's arrays whole, so after a 128-row prefill
     * every decode call through {@code o} or {@code p} moved 2 MB of queries in and 2 MB of outputs back, and
     * the demo's decode step took twice as long as one after a one-row prefill.
     */
    static final int DECODE_VECTORS = 64;
    /**
     * Query blocks the twins have room for. The oracle's outputs carry S for every (KV head, query block) slot
     * and the sparse graph's selection a list per slot, each of the plan's block capacity, and TornadoVM moves
     * them whole: twins with room for a long prefill chunk's query blocks would move all of S and every list on each
     * decode step (about twice a decode step's time; docs/tornado/README.md). A call spanning more query blocks
     * than this runs through the full-size graphs.
     */
    static final int DECODE_QUERY_BLOCKS = 2;
    /**
     * Blocks a selection list has room for at least. TornadoVM moves the selection array whole on every sparse
     * call, and with room for every block of the plan that was 128 KB at T = 128k for lists of 32 blocks; a
     * longer list grows the plan (a compile), so the first plan has room for the usual TopK sizes.
     */
    static final int MIN_SELECTED = 64;

    /**
     * What a plan has room for: tokens of the pool's pages (the device buffers), query vectors, query blocks, slots
     * per window ring, rings, blocks per selection list, and tokens of one sequence (the length of block tables, S
     * rows and statistics: a pool of many sequences is far larger than any one of them, and those arrays travel), and
     * sequences in one call (a batch: their block tables travel in the parameters).
     */
    record Caps(int tokens, int vectors, int queryBlocks, int ring, int rings, int selected, int seq, int seqs) {
        boolean covers(Caps need) {
            return tokens >= need.tokens && vectors >= need.vectors && queryBlocks >= need.queryBlocks && ring >= need.ring
                    && rings >= need.rings && selected >= need.selected && seq >= need.seq && seqs >= need.seqs;
        }

        /**
         * Room for {@code need} and what this had. Rings grow fourfold: each sparse layer of a pool's sequences holds
         * one (a server with 16 sequences and 11 sparse layers per full layer reads 176 rings through one plan), and
         * each growth is a compile paid by one step.
         */
        Caps grow(Caps need) {
            int moreRings = need.rings > rings ? ringSlots(4 * need.rings) : rings;
            return new Caps(Math.max(tokens, roomFor(need.tokens)), Math.max(vectors, bucket(need.vectors)),
                    Math.max(queryBlocks, bucket(need.queryBlocks)), Math.max(ring, bucket(need.ring)), moreRings,
                    Math.max(selected, bucket(need.selected)), Math.max(seq, roomFor(need.seq)), Math.max(seqs, bucket(need.seqs)));
        }

        static Caps of(Caps need) {
            return new Caps(roomFor(need.tokens), bucket(need.vectors), bucket(need.queryBlocks), bucket(need.ring), ringSlots(need.rings),
                    Math.max(MIN_SELECTED, bucket(need.selected)), roomFor(need.seq), bucket(need.seqs));
        }

        /**
         * Tokens with a quarter to spare before the power of two: a prefill ending at (or just under) a power of
         * two would otherwise get a new plan, and a compile, at its first decode step.
         */
        private static int roomFor(int tokens) {
            long room = tokens + (long) tokens / 4;
            // Past 64k tokens in eighths: a power of two could waste nearly half (a 128k-token context got room, device
            // memory and a first copy for 256k).
            return room <= 1 << 16 ? bucket(room) : eighths(room);
        }

        private static int ringSlots(int rings) {
            return rings == 0 ? 0 : Math.max(MIN_RINGS, bucket(rings));
        }
    }

    /** Where a window cache's ring sits (its first position in the page layout), and how much of it is on the device. */
    private static final class Ring {
        final int base;
        int capacity, uploaded;

        Ring(int base) {
            this.base = base;
        }
    }

    final Caps caps;
    /** {@code nbCap}: blocks of one sequence (tables, S rows); {@code pageCap}: pool pages on the device. */
    private final int b, hkv, d, row, page, kPage, mbits, nbCap, pageCap, selCap, cpb, ringPages, pages;
    private final KvPrecision precision;
    /** float16 kept in TornadoVM's half arrays and converted by the device (1), or raw bits in int words (0); see {@link Kernels#attend}. */
    private final int nativeHalf;
    /** Kernels compiled for this pool's shape (scalar arguments TornadoVM compiles in), or reading it from the parameters. */
    private final boolean specialized;
    /**
     * Prefill-sized calls run {@link TensorCoreKernels#attendMma} instead of {@link Kernels#attendTile}: float16 in half
     * arrays, a head dim it serves, and tensor cores asked for ({@link Devices#tensorCores}).
     */
    private final boolean mma;
    /** The plan's device (its MMA task names it, see {@link #withTile}). */
    private final TornadoDevice device;
    private final Map<String, Object> arrays = new HashMap<>();
    /** A task's grid and the most work-groups a call may give it. */
    private record Grid(WorkerGrid1D worker, long most) {
    }

    /** Each task's grid by "graph.task", registered by the graph that runs it. */
    private final Map<String, Grid> grids = new HashMap<>();
    /** Each call runs as one CUDA graph, its grids fixed at their most ({@link Devices#graphs}). */
    private final boolean cudaGraphs;
    /** The host side of every array but the cache's: page-locked by this backend under CUDA graphs. */
    private final HostArrays host;
    private final GridScheduler scheduler = new GridScheduler();
    private final TornadoExecutionPlan plan;
    /** The plan's graphs in order ({@code a}, {@code o}, {@code p}, then {@code o1}, {@code p1} if it has twins). */
    private final List<String> graphs;
    /** The ring of each window cache read through this plan; weak, so a dropped window cache frees its slot. */
    private final Map<SwaCache, Ring> rings = new WeakHashMap<>();
    /** What each sequence has on the device: its length and block table then (a page replaced by copy on write goes again). */
    private record Seen(int length, int[] table) {
    }

    private final Map<KvCache, Seen> seen = new WeakHashMap<>();
    /** Attention launches (oracle or sparse calls) through this plan, and those of them that ran {@link Kernels#attendTile}; for tests. */
    int launches, tiledLaunches;
    /** Rows written to the staging arrays and not yet to the cache: {@code pendingTokens} from slot {@code pendingAt} (see {@link #stage}). */
    private int pendingAt, pendingTokens;
    /** Runs of the append graph itself (rows not carried by an attention graph's append task); for tests. */
    int appendRuns;
    /** Oracle graphs that rank S's blocks on the device after the merge (decode-sized ones), and the calls that did. */
    private final java.util.Set<String> rankGraphs = new java.util.HashSet<>();
    int rankedOnDevice;
    /** Graphs that carry {@link Kernels#attendTile} beside {@link Kernels#attend}. */
    private final java.util.Set<String> tiledGraphs = new java.util.HashSet<>();
    /** Oracle graphs whose outputs come back within each run (see {@link #outBack}). */
    private final java.util.Set<String> outEveryRun = new java.util.HashSet<>();
    /** The last oracle run and its graph, from which the block masses can still be fetched. */
    private TornadoExecutionResult lastOracle;
    private String lastOracleGraph;

    /**
     * {@code pins}: run each call as one CUDA graph, its arrays page-locked through these; null: run as calls.
     * {@code specialized}: the kernels are compiled for this pool's block size, head dim and KV heads (see
     * {@link Devices#specialized}); else they read them from the parameters. {@code tensorCores}: float16 prefill on
     * tensor cores where the pool allows it.
     */
    DeviceCache(KvCache cache, Caps caps, TornadoDevice device, boolean nativeHalf, HostPins pins, boolean specialized, boolean tensorCores) {
        KvPool pool = cache.pool();
        this.caps = caps;
        this.device = device;
        this.cudaGraphs = pins != null;
        b = pool.blockSize();
        hkv = pool.kvHeads();
        d = pool.headDim();
        precision = pool.precision();
        this.specialized = specialized;
        row = Kernels.row(d);
        page = vPage(pool);
        mbits = mbits(precision);
        this.nativeHalf = nativeHalf && precision == KvPrecision.FLOAT16 ? 1 : 0;
        this.mma = tensorCores && this.nativeHalf == 1 && TensorCoreKernels.serves(d);
        kPage = kPage(pool);
        nbCap = (caps.seq + b - 1) / b;
        pageCap = (caps.tokens + b - 1) / b;
        selCap = Math.min(nbCap, caps.selected);
        cpb = (b + Kernels.LOCAL - 1) / Kernels.LOCAL;
        ringPages = (caps.ring + b - 1) / b;
        pages = pages(pool, caps);
        long elements = (long) pages * Math.max(page, kPage);
        if (elements > Integer.MAX_VALUE) throw new IllegalArgumentException("kv: expected at most 2^31 cache elements on the device but got " + elements);
        host = new HostArrays(pins);
        try {
            // The full-size graphs of a plan with decode-sized twins serve prefills: they also carry the tiled kernel.
            boolean twins = caps.vectors > DECODE_VECTORS || caps.queryBlocks > DECODE_QUERY_BLOCKS;
            List<TaskGraph> all = new ArrayList<>(List.of(appendGraph(pages * kPage, pages * page),
                    oracleGraph("o", caps.vectors, caps.queryBlocks, twins), sparseGraph("p", caps.vectors, caps.queryBlocks, twins)));
            if (twins) {
                int vec = Math.min(caps.vectors, DECODE_VECTORS), nqb = Math.min(caps.queryBlocks, DECODE_QUERY_BLOCKS);
                all.add(oracleGraph("o1", vec, nqb, false));
                all.add(sparseGraph("p1", vec, nqb, false));
            }
            graphs = all.stream().map(TaskGraph::getTaskGraphName).toList();
            plan = Plans.open(device, scheduler, cudaGraphs, all.toArray(TaskGraph[]::new));
            // The sequence that asked travels with the buffers' first transfer, each row at its pool page; others come
            // through the append graph when they are first read.
            int[] table = cache.blockTable();
            MemorySegment k = segment("k"), v = segment("v");
            // Block by block on the common pool: a block's rows land in their own page, so no two threads write the
            // same element, and a 128k-token cache is some 2^28 scattered 16-bit stores (the device layout is
            // transposed, see Kernels), seconds on one core. TornadoVM's arrays are shared segments.
            java.util.stream.IntStream.range(0, (cache.length() + b - 1) / b).parallel().forEach(block -> {
                for (int t = block * b; t < Math.min(cache.length(), (block + 1) * b); t++) {
                    int at = table[t / b] * b + t % b;
                    for (int h = 0; h < hkv; h++) {
                        upload(cache.keyPage(t), cache.offset(t, h), k, at, h, true);
                        upload(cache.valuePage(t), cache.offset(t, h), v, at, h, false);
                    }
                }
            });
            i("a.params").set(Kernels.STAGE_TOKENS, 0);
            Plans.run(plan, 0);
            seen.put(cache, new Seen(cache.length(), table));
        } catch (RuntimeException | Error e) {
            host.close();
            throw e;
        }
    }

    /** K and V together: the pages this plan has room for (the cache's, then the window rings'), V rows padded to an even D. */
    long deviceBytes() {
        return (long) pages * (page + kPage) * precision.bytes();
    }

    /** What {@link #deviceBytes()} will be for a copy of {@code pool} with room for {@code caps}: asked before allocating. */
    static long deviceBytes(KvPool pool, Caps caps) {
        return (long) pages(pool, caps) * (vPage(pool) + kPage(pool)) * pool.precision().bytes();
    }

    private static int vPage(KvPool pool) {
        return Kernels.vPage(pool.blockSize(), pool.kvHeads(), pool.headDim());
    }

    private static int kPage(KvPool pool) {
        return Kernels.kPage(pool.blockSize(), pool.kvHeads(), pool.headDim(), mbits(pool.precision()));
    }

    /** The kernels' {@code mbits}: mantissa bits of the storage, 0 for float32. */
    private static int mbits(KvPrecision precision) {
        return switch (precision) {
            case FLOAT32 -> 0;
            case FLOAT16 -> 10;
            case BFLOAT16 -> 7;
        };
    }

    /** A pool-shape value as the kernels take it: compiled in when {@link #specialized}, else 0 (read from the parameters). */
    private int shape(int value) {
        return specialized ? value : 0;
    }

    /** Pages of a copy with room for {@code caps}: the pool's, then each window ring's. */
    private static int pages(KvPool pool, Caps caps) {
        int b = pool.blockSize();
        return (caps.tokens + b - 1) / b + caps.rings * ((caps.ring + b - 1) / b);
    }

    /** Rings this plan needs to hold {@code swas} as well as those it holds (a closed window's ring slot is free again). */
    int ringsWith(java.util.Collection<SwaCache> swas) {
        rings.keySet().removeIf(SwaCache::isClosed);
        return rings.size() + (int) swas.stream().distinct().filter(w -> !rings.containsKey(w)).count();
    }

    // ---- graphs ----

    /**
     * A grid for task {@code name} ("graph.task") of at most {@code most} work-groups: its size under a CUDA graph,
     * where the kernels leave the work-groups past a call's work idle; run as calls, each call sets its own size.
     */
    private void grid(String name, long most) {
        WorkerGrid1D w = Plans.grid(most);
        scheduler.addWorkerGrid(name, w);
        grids.put(name, new Grid(w, most));
    }

    /** Task {@code name}'s grid for this call: {@code groups} work-groups (under a CUDA graph it keeps its captured size). */
    private void size(String name, long groups) {
        Grid grid = grids.get(name);
        if (groups > grid.most()) {
            throw new IllegalStateException(name + ": expected at most " + grid.most() + " work-groups but a call needs " + groups);
        }
        if (!cudaGraphs) grid.worker().setGlobalWork(groups * Kernels.LOCAL, 1, 1);
    }

    private TaskGraph appendGraph(int kElements, int vElements) {
        boolean words = mbits != 0 && nativeHalf == 0, halves = nativeHalf == 1;
        int stageElems = STAGE * hkv * row;
        // The cache's own arrays travel once, outside any captured graph: TornadoVM's arrays, not page-locked here.
        FloatArray kf = new FloatArray(mbits != 0 ? 1 : kElements), vf = new FloatArray(mbits != 0 ? 1 : vElements);
        IntArray kh = new IntArray(words ? kElements / 2 : 1), vh = new IntArray(words ? vElements / 2 : 1);
        HalfFloatArray kx = new HalfFloatArray(halves ? kElements : 2), vx = new HalfFloatArray(halves ? vElements : 2);
        FloatArray newKf = host.floats(mbits != 0 ? 1 : stageElems), newVf = host.floats(mbits != 0 ? 1 : stageElems);
        IntArray newKh = host.ints(words ? stageElems / 2 : 1), newVh = host.ints(words ? stageElems / 2 : 1);
        HalfFloatArray newKx = host.halves(halves ? stageElems : 2), newVx = host.halves(halves ? stageElems : 2);
        IntArray params = shapeParams(0, 0);
        arrays.putAll(Map.of("kf", kf, "vf", vf, "kh", kh, "vh", vh, "kx", kx, "vx", vx, "a.params", params));
        arrays.putAll(Map.of("newKf", newKf, "newVf", newVf, "newKh", newKh, "newVh", newVh, "newKx", newKx, "newVx", newVx));
        grid("a.append", groupsFor((long) STAGE * hkv * row));
        return new TaskGraph("a")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, cacheArrays())
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, newKf, newVf, newKh, newVh, newKx, newVx, params)
                .task("append", Kernels::appendRows, new KernelContext(), newKf, newVf, newKh, newVh, newKx, newVx, nativeHalf, mbits, shape(b), shape(d), shape(hkv), params,
                        kf, vf, kh, vh, kx, vx)
                .persistOnDevice(cacheArrays());
    }

    /**
     * Attention graph {@code name}'s first task: {@link Kernels#appendRows} of the rows pending in the staging arrays
     * (see {@link #stage}), copied into this graph's own staging pair before its run (see {@link #appendWith}), with the
     * graph's own parameters (the shape is there; the run's first slot and tokens are set per call, 0 tokens when none).
     * Own arrays, not the append graph's: a host array transferred by two graphs of one plan is a case this backend
     * does not lean on. The pair in the cache's storage type travels each run, the stand-ins once.
     */
    private TaskGraph withAppend(TaskGraph graph, String name, IntArray params) {
        int stageElems = STAGE * hkv * row;
        boolean words = mbits != 0 && nativeHalf == 0, halves = nativeHalf == 1;
        FloatArray kf = host.floats(mbits != 0 ? 1 : stageElems), vf = host.floats(mbits != 0 ? 1 : stageElems);
        IntArray kh = host.ints(words ? stageElems / 2 : 1), vh = host.ints(words ? stageElems / 2 : 1);
        HalfFloatArray kx = host.halves(halves ? stageElems : 2), vx = host.halves(halves ? stageElems : 2);
        String k = mbits == 0 ? "f" : halves ? "x" : "h";
        arrays.putAll(Map.of(name + ".newKf", kf, name + ".newVf", vf, name + ".newKh", kh, name + ".newVh", vh,
                name + ".newKx", kx, name + ".newVx", vx));
        Object[] staged = {arrays.get(name + ".newK" + k), arrays.get(name + ".newV" + k)};
        Object[] standIns = java.util.stream.Stream.of(kf, vf, kh, vh, kx, vx)
                .filter(a -> a != staged[0] && a != staged[1]).toArray();
        grid(name + ".append", groupsFor((long) STAGE * hkv * row));
        return graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, standIns)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, staged)
                .task("append", Kernels::appendRows, new KernelContext(), kf, vf, kh, vh, kx, vx,
                        nativeHalf, mbits, shape(b), shape(d), shape(hkv), params, f("kf"), f("vf"), i("kh"), i("vh"), x("kx"), x("vx"));
    }

    /**
     * The resident cache arrays (float32, 16-bit words, half arrays; all but one pair are stand-ins): what the append
     * graph uploads once and keeps on the device, and what every attention graph consumes.
     */
    private Object[] cacheArrays() {
        return new Object[] {arrays.get("kf"), arrays.get("vf"), arrays.get("kh"), arrays.get("vh"), arrays.get("kx"), arrays.get("vx")};
    }

    /**
     * An oracle graph ({@code name}) for up to {@code vec} query vectors in up to {@code nqb} query blocks:
     * queries and parameters in (the row positions and the query blocks' first rows ride in the parameters), one
     * array out (the outputs, then S; see {@link #outBack}). Each transfer is a driver call per layer and step.
     * {@code tiled}: {@link Kernels#attendTile} follows {@link Kernels#attend}, and each call gives its rows to one of
     * the two (see {@link #tiles}); the other finds none, so the pair shares every array and one graph serves both.
     */
    private TaskGraph oracleGraph(String name, int vec, int nqb, boolean tiled) {
        // The scale, the queries, then one sink logit per vector at most (Hq of them in a call).
        FloatArray q = host.floats(1 + vec * d + vec), consts = consts(), out = host.floats(vec * d + hkv * nqb * nbCap);
        FloatArray stats = host.floats(vec * nbCap * cpb * Kernels.STAT), masses = host.floats(vec * nbCap), partial = host.floats(partials(vec));
        IntArray params = shapeParams(vec, nqb + 1);
        params.set(Kernels.MODE, 0);
        params.set(Kernels.SINKS_AT, 1 + vec * d);
        params.set(Kernels.CHUNK_STRIDE, nbCap * cpb);
        params.set(Kernels.STARTS, Kernels.PARAMS + vec);
        arrays.putAll(Map.of(name + ".q", q, name + ".out", out, name + ".masses", masses, name + ".params", params));
        // Work-groups: those of the splits (at most SPLIT_GROUPS, or one per vector unsplit; see splits), then the merge's
        // one per vector and one per LOCAL blocks of each (KV head, query block).
        grid(name + ".oracle", Math.max(vec, splitGroups(vec)));
        grid(name + ".merge", vec + (long) hkv * nqb * groupsFor(nbCap));
        IntArray noSel = host.ints(1);
        TaskGraph graph = withAppend(new TaskGraph(name)
                .consumeFromDevice("a", cacheArrays())
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, consts)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, q, params), name, params)
                .task("oracle", Kernels::attend, new KernelContext(), q, f("kf"), f("vf"), i("kh"), i("vh"), x("kx"), x("vx"), nativeHalf, mbits, shape(b), shape(d), shape(hkv), cudaGraphs ? 1 : 0,
                        params, consts, noSel, partial, stats);
        if (tiled) withTile(graph, name, "oracle", Math.max(vec, splitGroups(vec)), q, params, consts, noSel, partial, stats);
        graph.task("merge", Kernels::mergeSplits, new KernelContext(), partial, stats, params, q, out, masses);
        if (outBack(name, vec, nqb) == DataTransferMode.EVERY_EXECUTION) {
            // A decode-sized graph also ranks the blocks of S where the merge left it (oracleAndSelect): S does not go
            // to the host and back through the select plan, and a step runs one plan fewer. A plain oracle call gives
            // it no blocks to rank.
            int lists = hkv * nqb;
            IntArray rank = host.ints(Kernels.PARAMS + nqb), sel = host.ints(lists * selCap + lists);
            rank.set(Kernels.HKV, hkv);
            rank.set(Kernels.SEL_STRIDE, selCap);
            rank.set(Kernels.COUNT_AT, lists * selCap);
            arrays.putAll(Map.of(name + ".rank", rank, name + ".sel", sel));
            rankGraphs.add(name);
            grid(name + ".rank", lists);
            graph.transferToDevice(DataTransferMode.EVERY_EXECUTION, rank)
                    .task("rank", Kernels::rankBlocks, new KernelContext(), out, rank, host.ints(lists * nbCap), sel)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, sel);
        }
        return graph
                .transferToHost(outBack(name, vec, nqb), out)
                .transferToHost(DataTransferMode.UNDER_DEMAND, masses);
    }

    /**
     * How an oracle graph's outputs come back: a decode-sized graph's whole array within each run (a separate
     * transfer is one more TornadoVM call with its host overhead; under a CUDA graph, one more copy node), a larger
     * graph's on demand, as far as the call wrote.
     */
    private int outBack(String graph, int vec, int nqb) {
        if (vec > DECODE_VECTORS || nqb > DECODE_QUERY_BLOCKS) return DataTransferMode.UNDER_DEMAND;
        outEveryRun.add(graph);
        return DataTransferMode.EVERY_EXECUTION;
    }

    /**
     * A sparse graph ({@code name}) for up to {@code vec} query vectors in up to {@code nqb} query blocks:
     * queries with the gates after them (room for both per channel) and two sink logits a vector after those,
     * parameters, and the selection with its list lengths after it.
     */
    private TaskGraph sparseGraph(String name, int vec, int nqb, boolean tiled) {
        int lists = hkv * nqb;
        FloatArray q = host.floats(1 + vec * d + 2 * vec * d + 2 * vec), consts = consts(), out = host.floats(vec * d);
        IntArray params = shapeParams(vec, 0), sel = host.ints(lists * selCap + lists);
        params.set(Kernels.MODE, 1);
        params.set(Kernels.GATES_AT, 1 + vec * d);
        params.set(Kernels.SINKS_AT, 1 + vec * d + 2 * vec * d);
        params.set(Kernels.SEL_STRIDE, selCap);
        params.set(Kernels.COUNT_AT, lists * selCap);
        FloatArray partial = host.floats(partials(vec));
        arrays.putAll(Map.of(name + ".q", q, name + ".out", out, name + ".params", params, name + ".sel", sel));
        // As the oracle's, and one window work-group per split group.
        grid(name + ".sparse", Math.max(vec, splitGroups(vec)) + vec);
        grid(name + ".merge", vec);
        FloatArray noStats = host.floats(1);
        TaskGraph graph = withAppend(new TaskGraph(name)
                .consumeFromDevice("a", cacheArrays())
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, consts)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, q, params, sel), name, params)
                .task("sparse", Kernels::attend, new KernelContext(), q, f("kf"), f("vf"), i("kh"), i("vh"), x("kx"), x("vx"), nativeHalf, mbits, shape(b), shape(d), shape(hkv), cudaGraphs ? 1 : 0,
                        params, consts, sel, partial, noStats);
        if (tiled) withTile(graph, name, "sparse", Math.max(vec, splitGroups(vec)) + vec, q, params, consts, sel, partial, noStats);
        return graph
                .task("merge", Kernels::mergeSplits, new KernelContext(), partial, host.floats(1), params, q, out, host.floats(1))
                .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
    }

    /**
     * Adds {@link Kernels#attendTile} to graph {@code name} beside its attention task {@code kind} ("oracle" or
     * "sparse"), as task {@code kind + "Tile"} on the same arrays, with a grid of at most {@code most} work-groups.
     */
    private void withTile(TaskGraph graph, String name, String kind, long most, FloatArray q, IntArray params, FloatArray consts,
                          IntArray sel, FloatArray partial, FloatArray stats) {
        tiledGraphs.add(name);
        grid(name + "." + kind + "Tile", most);
        if (mma) {
            long room = scratchGroups(name, kind.equals("sparse"));
            // TornadoVM parses a task's bytecode ("sketch") when the task is added, with the plugins of the task's
            // driver, which is TornadoVM's default one (OpenCL, ranked first) unless "graph.task.device" names another;
            // the OpenCL driver's plugins refuse MMA, so the task names the plan's own device (workaround 21).
            System.setProperty(name + "." + kind + "Tile.device", Devices.spec(device));
            graph.task(kind + "Tile", TensorCoreKernels::attendMma, new KernelContext(), q, x("kx"), x("vx"), shape(b), shape(d), shape(hkv),
                    params, sel, partial, stats, host.floats(Math.toIntExact(room * Kernels.SLOTS * Kernels.LOCAL)));
        } else {
            graph.task(kind + "Tile", Kernels::attendTile, new KernelContext(), q, f("kf"), f("vf"), i("kh"), i("vh"), x("kx"), x("vx"),
                    nativeHalf, mbits, shape(b), shape(d), shape(hkv), params, consts, sel, partial, stats);
        }
    }

    /**
     * Work-groups of {@link TensorCoreKernels#attendMma} graph {@code g} (its {@code vec} query vectors, sequences of
     * up to {@code chunks} chunks of {@code caps.seq}) gives room to in its scratch ({@code SLOTS * LOCAL} floats each,
     * 8 KB), sized from this when the graph is made and checked against it at each launch: a call runs tiled only with
     * at most half as many tiles as rows, so with groups of a multiple of {@link Kernels#HEADS} heads it has at most
     * {@code vec / 8} units, and its splits (at most one a chunk of the longest sequence, {@code chunks}) stay within
     * {@code SPLIT_GROUPS / 4} work-groups (see {@link #splits}); sparse adds one window work-group a unit. A call that
     * would need more (fewer heads a group) runs {@link Kernels#attend} instead (see {@link #units}).
     */
    private long scratchGroups(String g, boolean sparse) {
        return scratchGroups(vecOf(g), (caps.seq + Kernels.LOCAL - 1) / Kernels.LOCAL, sparse);
    }

    /** {@link #scratchGroups(String, boolean)} for {@code vec} query vectors and sequences of {@code chunks} chunks. */
    static long scratchGroups(int vec, int chunks, boolean sparse) {
        long units = (vec + 7) / 8;
        long most = Math.min(units * Math.max(1, chunks), Math.max(units, SPLIT_GROUPS / 4));
        return sparse ? most + units : most;
    }

    /**
     * Floats for the split partial states, one per query vector and split: splits never exceed {@link #SPLIT_GROUPS}
     * work-groups of up to {@link Kernels#HEADS} vectors unless each runs unsplit, and sparse adds one window partial per vector.
     */
    private int partials(int vectors) {
        return (Math.max(vectors, Kernels.HEADS * splitGroups(vectors)) + vectors) * (d + 2);
    }

    /**
     * Work-groups of one split for this call's rows: (row or tile, KV head, group of up to {@link Kernels#HEADS} query
     * heads). On a graph that carries {@link Kernels#attendTile}, rows are cut into tiles (see {@link #tiles}); when
     * they average two rows or more (a prefill, not a batch of decode rows) the call runs tiled: {@code TILES} tiles
     * and no {@code ATTEND_ROWS}, else the reverse.
     */
    private int units(String g, IntArray params, List<Queries> queries, List<QueryBlocks> qbs, int qBlock, boolean sparse) {
        int rows = 0, heads = queries.get(0).heads(), group = heads / hkv;
        for (Queries q : queries) rows += q.rows();
        int tiles = tiledGraphs.contains(g) ? tiles(params, queries, qbs, qBlock, sparse, Kernels.SLOTS / Math.min(Kernels.HEADS, group)) : rows;
        // The MMA kernel's scratch is sized for groups of whole HEADS (see scratchGroups): other groups run attend.
        boolean tiled = 2 * tiles <= rows && (!mma || group % Kernels.HEADS == 0);
        params.set(Kernels.TILES, tiled ? tiles : 0);
        params.set(Kernels.ATTEND_ROWS, tiled ? 0 : rows);
        return (tiled ? tiles : rows) * hkv * ((group + Kernels.HEADS - 1) / Kernels.HEADS);
    }

    /**
     * Cuts the call's rows into tiles of at most {@code most} rows of one sequence (sparse: of one query block, whose
     * selection they share), each written as (first row, rows) from {@code TILES_AT}; returns how many.
     */
    private static int tiles(IntArray params, List<Queries> queries, List<QueryBlocks> qbs, int qBlock, boolean sparse, int most) {
        int at = params.get(Kernels.TILES_AT), tiles = 0, rowAt = 0;
        for (int i = 0; i < queries.size(); i++) {
            int[] positions = queries.get(i).positions();
            int first = 0;
            for (int k = 1; k <= positions.length; k++) {
                boolean cut = k == positions.length || k - first == most
                        || (sparse && qbs.get(i).indexOf(positions[k], qBlock) != qbs.get(i).indexOf(positions[first], qBlock));
                if (cut) {
                    params.set(at + 2 * tiles, rowAt + first);
                    params.set(at + 2 * tiles + 1, k - first);
                    tiles++;
                    first = k;
                }
            }
            rowAt += positions.length;
        }
        return tiles;
    }

    /**
     * What {@code units} work-groups count as in {@link #splits}: the partial states have room for HEADS vectors a
     * work-group and split ({@link #partials}), and a tiled work-group serves SLOTS.
     */
    private static int partialGroups(IntArray params, int units) {
        return params.get(Kernels.TILES) > 0 ? units * (Kernels.SLOTS / Kernels.HEADS) : units;
    }

    /**
     * Sizes graph g's attention grids for a call of {@code groups} work-groups: the kernel the call runs gets them, a
     * tiled graph's other kernel one (it finds no rows; under a CUDA graph both keep their captured grids).
     */
    private void launch(String g, String task, IntArray params, long groups) {
        boolean tiled = params.get(Kernels.TILES) > 0;
        size(g + "." + task, tiled ? 1 : groups);
        if (tiledGraphs.contains(g)) size(g + "." + task + "Tile", tiled ? groups : 1);
        long room = tiled && mma ? scratchGroups(g, task.equals("sparse")) : Long.MAX_VALUE;
        if (groups > room) {
            throw new IllegalStateException(g + "." + task + "Tile: expected at most " + room + " work-groups in its MMA scratch but a call needs " + groups);
        }
        if (tiled) tiledLaunches++;
    }

    /**
     * Splits per work-group: enough work-groups to fill a large GPU in decode, one chunk or more each. A work-group
     * takes its chunks one after another, each a chain of memory round trips, so short contexts want one chunk a
     * split: more, smaller work-groups hide those latencies better than fewer that each walk several chunks.
     */
    private static int splits(int groups, long keys, int splitGroups) {
        long chunks = (keys + Kernels.LOCAL - 1) / Kernels.LOCAL;
        return (int) Math.max(1, Math.min(Math.min(MAX_SPLITS, chunks), splitGroups / groups));
    }

    /** Query vectors graph {@code g} has room for: the plan's, or a decode-sized twin's ({@code o1}, {@code p1}). */
    private int vecOf(String g) {
        return g.endsWith("1") ? Math.min(caps.vectors, DECODE_VECTORS) : caps.vectors;
    }

    /**
     * The parameters fixed by the pool, laid out for up to {@code vec} rows: their positions from {@link Kernels#PARAMS},
     * {@code extra} slots after them (the oracle's query-block starts), then per row its block table's offset, its
     * query block among the call's and its window ring (first slot, capacity), then the block tables of up to
     * {@code caps.seqs} sequences. One array per graph, since each graph transfers its own.
     */
    private IntArray shapeParams(int vec, int extra) {
        int rowTables = Kernels.PARAMS + vec + extra;
        IntArray p = host.ints(rowTables + 4 * vec + caps.seqs * nbCap + 2 * vec);
        p.set(Kernels.ROW_TABLE_AT, rowTables);
        p.set(Kernels.ROW_QB_AT, rowTables + vec);
        p.set(Kernels.ROW_RING_AT, rowTables + 2 * vec);
        p.set(Kernels.TABLE_AT, rowTables + 4 * vec);
        p.set(Kernels.TILES_AT, rowTables + 4 * vec + caps.seqs * nbCap);
        p.set(Kernels.HKV, hkv);
        p.set(Kernels.DIM, d);
        p.set(Kernels.BLOCK, b);
        p.set(Kernels.ROW, row);
        p.set(Kernels.PAGE, page);
        p.set(Kernels.KPAGE, kPage);
        p.set(Kernels.NB_STRIDE, nbCap);
        p.set(Kernels.SEL_STRIDE, nbCap);
        return p;
    }

    /** The sign-and-exponent table {@link Kernels#decode} reads 16-bit values with (see {@link Kernels#TABLE}); it travels once. */
    private FloatArray consts() {
        FloatArray c = host.floats(Kernels.CONSTS);
        if (mbits == 0) return c;
        int bias = mbits == 10 ? 15 : 127, top = 0x7fff >>> mbits, entries = 1 << (16 - mbits);
        for (int se = 0; se < entries; se++) {
            int e = se & top;
            float pow = e == top ? Float.POSITIVE_INFINITY : Math.scalb(1f, Math.max(e, 1) - bias - mbits);
            c.set(Kernels.TABLE + se, se > top ? -pow : pow);
        }
        return c;
    }

    // ---- operations ----

    /**
     * Writes the rows of {@code cache} the device does not have yet into its pool pages: all of a sequence read for
     * the first time, else those appended since, and again the rows of a page its table no longer names (replaced
     * by copy on write after a fork). Runs stop at page ends: consecutive blocks need not be consecutive pages.
     */
    void sync(KvCache cache) {
        int[] table = cache.blockTable();
        Seen was = seen.get(cache);
        int from = was == null ? 0 : was.length();
        if (was != null) {
            for (int j = 0; j < was.table().length && j * b < from; j++) {
                if (was.table()[j] != table[j]) {
                    from = j * b;
                    break;
                }
            }
        }
        for (int t = from; t < cache.length(); ) {
            int n = Math.min(cache.length() - t, b - t % b);
            stage(cache, t, n, table[t / b] * b + t % b);
            t += n;
        }
        seen.put(cache, new Seen(cache.length(), table));
    }

    /**
     * The ring of {@code swa} on the device, holding its tokens up to the newest: a new window cache takes a free
     * ring slot (the caller has checked {@link #ringsWith}); tokens appended since the last call are written in
     * place, runs stopping where the ring wraps; a ring whose capacity changed ({@link SwaCache#shrink}) is rewritten.
     */
    private Ring ring(SwaCache swa) {
        Ring ring = rings.get(swa);
        if (ring == null) {
            java.util.Set<Integer> used = new java.util.HashSet<>();
            rings.values().forEach(r -> used.add(r.base));
            int base = pageCap * b;
            while (used.contains(base)) base += ringPages * b;
            ring = new Ring(base);
            rings.put(swa, ring);
        }
        if (ring.capacity != swa.capacity()) {
            ring.capacity = swa.capacity();
            ring.uploaded = 0;
        }
        for (int t = Math.max(ring.uploaded, swa.firstPosition()); t < swa.length(); ) {
            int n = Math.min(swa.length() - t, ring.capacity - t % ring.capacity);
            stage(swa, t, n, ring.base + t % ring.capacity);
            t += n;
        }
        ring.uploaded = swa.length();
        return ring;
    }

    /**
     * Writes tokens {@code from .. from + n - 1} of {@code src} to positions {@code at ..} of the device layout,
     * {@link #STAGE} per run. The last run stays pending in the staging arrays: the next attention call's graph
     * appends it before its kernels (a decode step's one new token then costs no plan run of its own), or the next
     * staging runs it through the append graph first.
     */
    private void stage(KvSource src, int from, int n, int at) {
        flush();
        for (int done = 0; done < n; done += STAGE) {
            int run = Math.min(STAGE, n - done);
            for (int r = 0; r < run; r++) {
                int t = from + done + r;
                for (int h = 0; h < hkv; h++) {
                    long to = (long) (r * hkv + h) * row;
                    copyRow(src.keyPage(t), src.offset(t, h), segment("newK"), to);
                    copyRow(src.valuePage(t), src.offset(t, h), segment("newV"), to);
                }
            }
            pendingAt = at + done;
            pendingTokens = run;
            if (done + STAGE < n) flush();
        }
    }

    /** Runs the pending staged rows through the append graph, if any. */
    private void flush() {
        if (pendingTokens == 0) return;
        IntArray params = i("a.params");
        params.set(Kernels.STAGE_FIRST, pendingAt);
        params.set(Kernels.STAGE_TOKENS, pendingTokens);
        size("a.append", groupsFor((long) pendingTokens * hkv * row));
        pendingTokens = 0;
        appendRuns++;
        Plans.run(plan, 0);
    }

    /**
     * Hands the pending staged rows to attention graph g's append task (none: 0 tokens), which runs before its kernels:
     * they are copied from the append graph's staging arrays into g's own.
     */
    private void appendWith(String g, IntArray params) {
        if (pendingTokens > 0) {
            long bytes = (long) pendingTokens * hkv * row * (mbits == 0 ? Float.BYTES : Short.BYTES);
            MemorySegment.copy(segment("newK"), 0, segment(g + ".newK"), 0, bytes);
            MemorySegment.copy(segment("newV"), 0, segment(g + ".newV"), 0, bytes);
        }
        params.set(Kernels.STAGE_FIRST, pendingAt);
        params.set(Kernels.STAGE_TOKENS, pendingTokens);
        size(g + ".append", groupsFor((long) Math.max(1, pendingTokens) * hkv * row));
        pendingTokens = 0;
    }

    /** Blocks in the longest list of {@code sel}: what a plan's lists need room for, and what a sparse call splits. */
    static int longestList(BlockSelection sel) {
        int most = 0;
        for (int[] list : sel.blocks()) most = Math.max(most, list.length);
        return most;
    }

    /** Graph {@code kind} ("o" or "p"), or its decode-sized twin when the plan has one and the call fits it. */
    private String graphFor(String kind, int vectors, int queryBlocks) {
        return vectors <= DECODE_VECTORS && queryBlocks <= DECODE_QUERY_BLOCKS && graphs.contains(kind + "1") ? kind + "1" : kind;
    }

    /**
     * Where the rows of {@code queries} go in one call: each sequence's rows after the previous ones', its query
     * blocks after theirs, and its block table at its own stride in the parameters (row, query block and table
     * offsets per row), so that one launch serves the batch.
     */
    private void setRows(IntArray params, FloatArray qDev, List<Queries> queries, List<KvCache> caches, List<QueryBlocks> qbs, int qBlock) {
        int rowAt = 0, qbAt = 0, heads = queries.get(0).heads();
        int rowTable = params.get(Kernels.ROW_TABLE_AT), rowQb = params.get(Kernels.ROW_QB_AT), tables = params.get(Kernels.TABLE_AT);
        for (int i = 0; i < queries.size(); i++) {
            Queries q = queries.get(i);
            Plans.copy(q.data(), 0, qDev.getSegment(), 1L + (long) rowAt * heads * d, q.data().length);
            int[] table = caches.get(i).blockTable();
            for (int j = 0; j < table.length; j++) params.set(tables + i * nbCap + j, table[j]);
            for (int k = 0; k < q.rows(); k++) {
                params.set(Kernels.PARAMS + rowAt + k, q.positions()[k]);
                params.set(rowTable + rowAt + k, tables + i * nbCap);
                params.set(rowQb + rowAt + k, qbAt + qbs.get(i).indexOf(q.positions()[k], qBlock));
            }
            rowAt += q.rows();
            qbAt += qbs.get(i).count();
        }
        params.set(Kernels.HQ, heads);
        params.set(Kernels.QBLOCK, qBlock);
    }

    /** SPEC 1 on the device for requests on sequences of this pool, in one launch; afterwards {@link #masses()} holds each query vector's mass per block. */
    void oracle(List<KvCache> caches, List<OracleRequest> requests, List<OracleOutput> outputs) {
        oracle(caches, requests, outputs, null, 0);
    }

    /**
     * Whether an oracle call of {@code vectors} query vectors in {@code queryBlocks} query blocks runs on a graph that
     * can rank its blocks on the device for a selection of up to {@code budget} blocks a list.
     */
    boolean ranks(int vectors, int queryBlocks, int budget) {
        return rankGraphs.contains(graphFor("o", vectors, queryBlocks)) && budget <= selCap;
    }

    /**
     * SPEC 1, and with a {@code policy} ({@link #ranks} true) SPEC 2's device ranking of each (KV head, query block)'s
     * blocks in the same launch: the lists in the kernel's order of choice, before a mass target's cut; else null.
     */
    int[][] oracle(List<KvCache> caches, List<OracleRequest> requests, List<OracleOutput> outputs, SelectionPolicy policy, int budget) {
        OracleRequest r0 = requests.get(0);
        int heads = r0.queries().heads(), rows = 0, nqb = 0, nb = 0;
        List<Queries> queries = new ArrayList<>();
        List<QueryBlocks> qbs = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            queries.add(requests.get(i).queries());
            qbs.add(outputs.get(i).scores().queryBlocks());
            rows += requests.get(i).queries().rows();
            nqb += qbs.get(i).count();
            nb = Math.max(nb, outputs.get(i).scores().kvBlocks());
        }
        int vectors = rows * heads;
        String g = graphFor("o", vectors, nqb);
        IntArray params = i(g + ".params");
        FloatArray qDev = f(g + ".q");
        qDev.set(0, r0.scale());
        setRows(params, qDev, queries, caches, qbs, r0.geometry().queryBlockSize());
        // S of every request in one [Hkv][query block][nb] array, nb the longest request's blocks (a shorter one's tail is 0).
        params.set(Kernels.TOKENS, nb * b);
        params.set(Kernels.NQB, nqb);
        params.set(Kernels.SCORE_MODE, r0.scores() == ScoreMode.MAX ? Kernels.SCORES_MAX : Kernels.SCORES_MASS);
        setSinks(qDev, params.get(Kernels.SINKS_AT), false, r0.sink(), null, heads);
        int starts = params.get(Kernels.STARTS), rowAt = 0, qbAt = 0;
        for (int i = 0; i < requests.size(); i++) {
            int[] rowStart = qbs.get(i).rowStarts(queries.get(i).positions(), r0.geometry().queryBlockSize());
            for (int k = 0; k < qbs.get(i).count(); k++) params.set(starts + qbAt + k, rowAt + rowStart[k]);
            rowAt += queries.get(i).rows();
            qbAt += qbs.get(i).count();
        }
        params.set(starts + nqb, rows);
        // Prefill's many rows stay unsplit (splits never take the work-groups past SPLIT_GROUPS).
        int units = units(g, params, queries, qbs, r0.geometry().queryBlockSize(), false);
        int splits = splits(partialGroups(params, units), (long) nb * b, splitGroups(vecOf(g)));
        params.set(Kernels.SPLITS, splits);
        launch(g, "oracle", params, (long) units * splits);
        params.set(Kernels.VECTORS, vectors);
        // S right after this call's outputs, so that one partial transfer brings both back.
        params.set(Kernels.SCORES_AT, vectors * d);
        // One work-group per query vector's merge, then one per LOCAL blocks of each (KV head, query block)'s scores.
        long scoreGroups = (long) hkv * nqb * groupsFor(nb);
        size(g + ".merge", vectors + scoreGroups);
        if (rankGraphs.contains(g)) {
            IntArray rank = i(g + ".rank");
            rank.set(Kernels.NQB, nqb);
            rank.set(Kernels.NB_STRIDE, nb);
            rank.set(Kernels.SCORES_AT, vectors * d);
            rank.set(Kernels.BUDGET, policy == null ? 0 : budget);
            rank.set(Kernels.SINK, policy != null && policy.sink() ? 1 : 0);
            rank.set(Kernels.LOCAL_BLOCKS, policy == null ? 0 : policy.local());
            int at = Kernels.PARAMS;
            for (QueryBlocks mine : qbs) {
                for (int k = 0; k < mine.count(); k++) rank.set(at++, policy == null ? 0 : mine.visibleBlocks(k, r0.geometry().blockSize()));
            }
            size(g + ".rank", policy == null ? 1 : (long) hkv * nqb);
        } else if (policy != null) {
            throw new IllegalStateException(g + ": this graph does not rank blocks (see ranks)");
        }
        appendWith(g, params);
        lastOracle = Plans.run(plan, graphs.indexOf(g));
        launches++;
        lastOracleGraph = g;
        FloatArray outDev = f(g + ".out");
        int scores = hkv * nqb * nb;
        if (!outEveryRun.contains(g)) lastOracle.transferToHost(new DataRange(outDev).withSize((long) vectors * d + scores));
        rowAt = 0;
        qbAt = 0;
        for (int i = 0; i < requests.size(); i++) {
            OracleOutput o = outputs.get(i);
            int n = queries.get(i).rows() * heads * d, mine = o.scores().queryBlocks().count(), kb = o.scores().kvBlocks();
            Plans.copyOut(outDev, (long) rowAt * heads * d, o.out(), n);
            float[] sDst = o.scores().data();
            for (int h = 0; h < hkv; h++) {
                for (int k = 0; k < mine; k++) {
                    long from = (long) vectors * d + (long) (h * nqb + qbAt + k) * nb;
                    MemorySegment.copy(outDev.getSegment(), ValueLayout.JAVA_FLOAT, from * Float.BYTES, sDst, (h * mine + k) * kb, kb);
                }
            }
            rowAt += queries.get(i).rows();
            qbAt += mine;
        }
        if (policy == null) return null;
        rankedOnDevice++;
        return rankedLists(i(g + ".sel"), hkv * nqb, selCap, i(g + ".rank").get(Kernels.COUNT_AT));
    }

    /**
     * The first {@code lists} of {@link Kernels#rankBlocks}'s lists in {@code sel}: list l at {@code l * stride}, its
     * length at {@code countAt + l}.
     */
    static int[][] rankedLists(IntArray sel, int lists, int stride, int countAt) {
        int[][] ranked = new int[lists][];
        for (int list = 0; list < lists; list++) {
            ranked[list] = new int[sel.get(countAt + list)];
            for (int c = 0; c < ranked[list].length; c++) ranked[list][c] = sel.get(list * stride + c);
        }
        return ranked;
    }

    /**
     * The last oracle call's block masses, query vector x's block j at {@code x * blockStride() + j}. Only SPEC 5
     * needs them, so they stay on the device until asked for.
     */
    FloatArray masses() {
        lastOracle.transferToHost(f(lastOracleGraph + ".masses"));
        return f(lastOracleGraph + ".masses");
    }

    String lastOracleGraph() {
        return lastOracleGraph;
    }

    int blockStride() {
        return nbCap;
    }

    /** SPEC 3 on the device for requests on sequences of this pool, in one launch. */
    void sparse(List<SparseRequest> requests, List<float[]> outs) {
        SparseRequest r0 = requests.get(0);
        int heads = r0.queries().heads(), rows = 0, nqb = 0, longest = 1, tokens = 0;
        List<Queries> queries = new ArrayList<>();
        List<QueryBlocks> qbs = new ArrayList<>();
        List<KvCache> caches = new ArrayList<>();
        for (SparseRequest r : requests) {
            queries.add(r.queries());
            qbs.add(r.selection().queryBlocks());
            caches.add(r.shared().cache());
            rows += r.queries().rows();
            nqb += r.selection().queryBlocks().count();
            longest = Math.max(longest, longestList(r.selection()));
            tokens = Math.max(tokens, r.shared().length());
        }
        int vectors = rows * heads;
        String g = graphFor("p", vectors, nqb);
        IntArray params = i(g + ".params"), selDev = i(g + ".sel");
        FloatArray qDev = f(g + ".q");
        qDev.set(0, r0.scale());
        setRows(params, qDev, queries, caches, qbs, r0.selection().geometry().queryBlockSize());
        params.set(Kernels.TOKENS, tokens);
        params.set(Kernels.NQB, nqb);
        params.set(Kernels.WINDOW, r0.window());
        int wSel = r0.gateWidth(r0.gateSel()), wSwa = r0.gateWidth(r0.gateSwa());
        // Each gate as it came, per head or per channel (the same width across the call): the kernel reads it by its width.
        int gatesAt = params.get(Kernels.GATES_AT), swaAt = gatesAt + vectors * wSel, rowRing = params.get(Kernels.ROW_RING_AT);
        int rowAt = 0, qbAt = 0;
        for (SparseRequest r : requests) {
            Ring ring = r.window() > 0 ? ring(r.swa()) : null;
            for (int k = 0; k < r.queries().rows(); k++) {
                params.set(rowRing + 2 * (rowAt + k), ring != null ? ring.base : 0);
                params.set(rowRing + 2 * (rowAt + k) + 1, ring != null ? ring.capacity : 1);
            }
            int mine = r.selection().queryBlocks().count();
            int[][] lists = r.selection().blocks();
            for (int list = 0; list < lists.length; list++) {
                int at = (list / mine) * nqb + qbAt + list % mine;
                selDev.set(params.get(Kernels.COUNT_AT) + at, lists[list].length);
                for (int c = 0; c < lists[list].length; c++) selDev.set(at * selCap + c, lists[list][c]);
            }
            long vec0 = (long) rowAt * heads;
            Plans.copy(r.gateSel(), 0, qDev.getSegment(), gatesAt + vec0 * wSel, r.gateSel().length);
            Plans.copy(r.gateSwa(), 0, qDev.getSegment(), swaAt + vec0 * wSwa, r.gateSwa().length);
            rowAt += r.queries().rows();
            qbAt += mine;
        }
        params.set(Kernels.GATE_SEL_W, wSel);
        params.set(Kernels.GATE_SWA_W, wSwa);
        params.set(Kernels.GATES_SWA_AT, swaAt);
        setSinks(qDev, params.get(Kernels.SINKS_AT), true, r0.sinkSel(), r0.sinkSwa(), heads);
        int units = units(g, params, queries, qbs, r0.selection().geometry().queryBlockSize(), true);
        int splits = splits(partialGroups(params, units), (long) longest * b, splitGroups(vecOf(g)));
        params.set(Kernels.SPLITS, splits);
        launch(g, "sparse", params, (long) units * (splits + 1));
        params.set(Kernels.VECTORS, vectors);
        size(g + ".merge", vectors);
        appendWith(g, params);
        Plans.run(plan, graphs.indexOf(g));
        launches++;
        rowAt = 0;
        for (int i = 0; i < requests.size(); i++) {
            int n = queries.get(i).rows() * heads * d;
            Plans.copyOut(f(g + ".out"), (long) rowAt * heads * d, outs.get(i), n);
            rowAt += queries.get(i).rows();
        }
    }

    @Override
    public void close() {
        Plans.close(plan);
        host.close();
    }

    // ---- host-side copies ----

    /**
     * Sink logits from {@code at}: one a head for the oracle ({@code pairs} false), or (selected, window) pairs a
     * head for a sparse call; -infinity where a branch has none, which adds nothing to a denominator.
     */
    private static void setSinks(FloatArray qDev, int at, boolean pairs, float[] first, float[] second, int heads) {
        int per = pairs ? 2 : 1;
        for (int g = 0; g < heads; g++) {
            qDev.set(at + per * g, first == null ? Float.NEGATIVE_INFINITY : first[g]);
            if (pairs) qDev.set(at + 2 * g + 1, second == null ? Float.NEGATIVE_INFINITY : second[g]);
        }
    }

    /** The segment of the K or V buffer (or staging buffer, for "newK"/"newV") in this cache's storage type. */
    private MemorySegment segment(String name) {
        return ((TornadoNativeArray) arrays.get(name + (mbits == 0 ? "f" : nativeHalf == 1 ? "x" : "h"))).getSegment();
    }

    /** One row of D elements at element {@code at} of a device-layout buffer, raw: float32 or 16-bit bits. */
    private void copyRow(KvPage src, int from, MemorySegment dst, long at) {
        switch (src) {
            case KvPage.F32 f -> MemorySegment.copy(f.data(), from, dst, ValueLayout.JAVA_FLOAT, at * Float.BYTES, d);
            case KvPage.Half h -> MemorySegment.copy(h.data(), from, dst, ValueLayout.JAVA_SHORT, at * Short.BYTES, d);
        }
    }

    /** Key or value {@code (t, h)}'s D elements into the device layout ({@link Kernels#keyAt}, {@link Kernels#valueAt}). */
    private void upload(KvPage src, int from, MemorySegment dst, int t, int h, boolean key) {
        for (int e = 0; e < d; e++) {
            long at = key ? Kernels.keyAt(t, h, e, b, d, row, kPage, mbits) : Kernels.valueAt(t, h, e, b, row, page, mbits);
            switch (src) {
                case KvPage.F32 f -> dst.setAtIndex(ValueLayout.JAVA_FLOAT, at, f.data()[from + e]);
                case KvPage.Half x -> dst.setAtIndex(ValueLayout.JAVA_SHORT, at, x.data()[from + e]);
            }
        }
    }

    private FloatArray f(String n) { return (FloatArray) arrays.get(n); }

    private IntArray i(String n) { return (IntArray) arrays.get(n); }

    private HalfFloatArray x(String n) { return (HalfFloatArray) arrays.get(n); }

    /** {@code n} rounded up to a multiple of an eighth of its power of two: at most an eighth over. */
    static int eighths(long n) {
        if (n <= 16) return bucket(n);
        long step = Long.highestOneBit(n - 1) / 8;
        long r = (n + step - 1) / step * step;
        if (r > Integer.MAX_VALUE) throw new IllegalArgumentException("size: expected at most 2^31 tokens on the device but got " + n);
        return (int) r;
    }

    static int bucket(long n) {
        long b = 1;
        while (b < n) b <<= 1;
        if (b > Integer.MAX_VALUE) throw new IllegalArgumentException("size: expected at most 2^30 elements on the device but got " + n);
        return (int) b;
    }

    /** Work-groups of {@link Kernels#LOCAL} threads for n threads (at least one). */
    static long groupsFor(long n) {
        return Math.max(1, (n + Kernels.LOCAL - 1) / Kernels.LOCAL);
    }
}
