package org.hysparse.api;

import java.util.Arrays;
import java.util.List;

/**
 * Input validation per SPEC "Errors", in one place for every backend. Each check throws
 * {@link IllegalArgumentException} naming the argument, the expected and the actual value, and runs
 * before any output is written.
 */
public final class Checks {
    private Checks() {
    }

    /** SPEC 1 inputs. */
    public static void oracle(OracleRequest r) {
        Queries q = r.queries();
        attention(q, r.kv(), r.scale());
        blockSizeMatches(r.kv(), r.geometry());
        sink("sink", r.sink(), q);
    }

    /** SPEC 1 inputs and caller-owned outputs sized for them. */
    public static void oracle(OracleRequest r, OracleOutput output) {
        oracle(r);
        if (output == null) throw new IllegalArgumentException("output: expected buffers but got null");
        Queries q = r.queries();
        length("out", output.out(), (long) q.rows() * q.heads() * q.headDim(),
                "[" + q.rows() + "][" + q.heads() + "][" + q.headDim() + "]");
        BlockScores s = output.scores();
        if (s.mode() != r.scores()) {
            throw new IllegalArgumentException("scores: expected " + r.scores() + " score buffers (the request's mode) but got "
                    + s.mode());
        }
        QueryBlocks qb = r.queryBlocks();
        int nb = r.geometry().kvBlocks(r.kv().length());
        if (!s.geometry().equals(r.geometry()) || s.queryBlocks().first() != qb.first()
                || s.queryBlocks().count() != qb.count() || s.kvHeads() != r.kv().kvHeads() || s.kvBlocks() != nb) {
            throw new IllegalArgumentException("scores: expected [" + r.kv().kvHeads() + "][" + qb.count() + "][" + nb
                    + "] from query block " + qb.first() + " with " + r.geometry() + " but got [" + s.kvHeads() + "]["
                    + s.queryBlocks().count() + "][" + s.kvBlocks() + "] from query block " + s.queryBlocks().first()
                    + " with " + s.geometry());
        }
    }

    /** SPEC 2 inputs. */
    public static void selection(SelectionRequest r) {
        BlockScores s = r.scores();
        policyFor(s.mode(), r.policy());
        float[] d = s.data();
        for (int i = 0; i < d.length; i++) {
            if (!(d[i] >= 0f && d[i] <= Tolerances.SCORE_MAX)) {
                throw new IllegalArgumentException("scores: expected values in [0, 1] (up to " + Tolerances.SCORE_MAX
                        + " for rounding) but got " + d[i] + " at flat index " + i);
            }
        }
        for (int qb = 0; qb < s.queryBlocks().count(); qb++) {
            int visible = s.queryBlocks().visibleBlocks(qb, s.geometry().blockSize());
            if (visible > s.kvBlocks()) {
                throw new IllegalArgumentException("scores: expected at least " + visible + " KV blocks for query block "
                        + (s.queryBlocks().first() + qb) + " but got " + s.kvBlocks());
            }
        }
    }

    /** A selection policy over scores of {@code mode}: mass targeting needs masses (SPEC 5). */
    public static void policyFor(ScoreMode mode, SelectionPolicy policy) {
        if (policy == null) throw new IllegalArgumentException("policy: expected a selection policy but got null");
        if (policy instanceof SelectionPolicy.MassTarget && mode != ScoreMode.MASS) {
            throw new IllegalArgumentException("scores: expected MASS scores for mass-targeted selection (only masses bound the"
                    + " dropped mass) but got " + mode + " scores; run the oracle withScores(ScoreMode.MASS)");
        }
    }

    /** SPEC 3 inputs and the output buffer. */
    public static void sparse(SparseRequest r, float[] out) {
        Queries q = r.queries();
        KvCacheView kv = r.shared();
        attention(q, kv, r.scale());
        selectionFits("selection", r.selection(), q, kv);
        if (r.window() < 0) throw new IllegalArgumentException("window: expected >= 0 but got " + r.window());
        if (r.window() > 0) {
            SwaCache swa = r.swa();
            if (swa == null) {
                throw new IllegalArgumentException("swa: expected a window cache for window " + r.window() + " but got null");
            }
            if (swa.kvHeads() != kv.kvHeads() || swa.headDim() != kv.headDim()) {
                throw new IllegalArgumentException("swa: expected [" + kv.kvHeads() + "][" + kv.headDim()
                        + "] per token but got [" + swa.kvHeads() + "][" + swa.headDim() + "]");
            }
            int need = Math.max(0, q.positions()[0] - r.window() + 1);
            if (swa.length() <= q.lastPosition() || swa.firstPosition() > need) {
                throw new IllegalArgumentException("swa: expected positions " + need + ".." + q.lastPosition()
                        + " held but got " + swa.firstPosition() + ".." + (swa.length() - 1)
                        + " (capacity " + swa.capacity() + ")");
            }
        }
        gate("gateSel", r.gateSel(), q);
        gate("gateSwa", r.gateSwa(), q);
        sink("sinkSel", r.sinkSel(), q);
        sink("sinkSwa", r.sinkSwa(), q);
        length("out", out, (long) q.rows() * q.heads() * q.headDim(), "[" + q.rows() + "][" + q.heads() + "][" + q.headDim() + "]");
    }

    /** SPEC 5 inputs. */
    public static void droppedMass(DroppedMassRequest r) {
        attention(r.queries(), r.kv(), r.scale());
        selectionFits("selection", r.selection(), r.queries(), r.kv());
        sink("sink", r.sink(), r.queries());
    }

    /**
     * A batch of oracle calls and one caller-owned output per request: each request as {@link #oracle(OracleRequest,
     * OracleOutput)} checks it (messages prefixed {@code requests[i].}), every cache a sequence of the first one's
     * pool (a server's layer mixes users' sequences: none may name another pool's pages), and no two requests
     * writing the same buffers.
     */
    public static void oracleBatch(OracleBatch batch, List<OracleOutput> outputs) {
        if (batch == null) throw new IllegalArgumentException("batch: expected requests but got null");
        batch(batch.requests(), outputs, Checks::oracle, OracleRequest::kv,
                (a, b) -> a.out() == b.out() || a.scores().data() == b.scores().data());
    }

    /** A batch of sparse calls and one output per request, as {@link #oracleBatch} checks an oracle batch. */
    public static void sparseBatch(SparseBatch batch, List<float[]> outputs) {
        if (batch == null) throw new IllegalArgumentException("batch: expected requests but got null");
        batch(batch.requests(), outputs, Checks::sparse, SparseRequest::shared, (a, b) -> a == b);
    }

    /** Each request checked as a single call (messages prefixed {@code requests[i].}), one pool, no output shared. */
    private static <R, O> void batch(List<R> requests, List<O> outputs, java.util.function.BiConsumer<R, O> check,
                                     java.util.function.Function<R, KvSource> kv, java.util.function.BiPredicate<O, O> shareBuffers) {
        if (outputs == null || outputs.size() != requests.size()) {
            throw new IllegalArgumentException("outputs: expected " + requests.size() + " (one a request) but got "
                    + (outputs == null ? "null" : outputs.size()));
        }
        KvPool pool = poolOf(kv.apply(requests.get(0)));
        for (int i = 0; i < requests.size(); i++) {
            R r = requests.get(i);
            O out = outputs.get(i);
            inRequest(i, () -> check.accept(r, out));
            if (poolOf(kv.apply(r)) != pool) {
                throw new IllegalArgumentException("requests[" + i + "].kv: expected a sequence of the batch's pool (that of requests[0])"
                        + " but got one of another pool");
            }
            for (int j = 0; j < i; j++) {
                if (shareBuffers.test(out, outputs.get(j))) {
                    throw new IllegalArgumentException("outputs[" + i + "]: expected buffers of its own but got those of outputs[" + j + "]");
                }
            }
        }
    }

    // ---- shared pieces ----

    /** Selection requests for many sequences, each as {@link #selection} checks it (messages prefixed {@code requests[i].}). */
    public static void selections(List<SelectionRequest> requests) {
        if (requests == null) throw new IllegalArgumentException("requests: expected selection requests but got null");
        for (int i = 0; i < requests.size(); i++) {
            SelectionRequest r = requests.get(i);
            if (r == null) throw new IllegalArgumentException("requests[" + i + "]: expected a selection request but got null");
            inRequest(i, () -> selection(r));
        }
    }

    /** Runs request i's check, its message prefixed with {@code requests[i].}: one place for every batch check. */
    private static void inRequest(int i, Runnable check) {
        try {
            check.run();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("requests[" + i + "]." + e.getMessage(), e);
        }
    }

    private static KvPool poolOf(KvSource kv) {
        return switch (kv) {
            case KvCache c -> c.pool();
            case KvCacheView v -> v.cache().pool();
            case SwaCache s -> null;
        };
    }


    private static void attention(Queries q, KvSource kv, float scale) {
        if (kv instanceof SwaCache) {
            throw new IllegalArgumentException("kv: expected a full layer's cache or its view but got a sliding-window cache");
        }
        if (kv.firstPosition() != 0) {
            throw new IllegalArgumentException("kv: expected a cache holding every position from 0 but got one starting at "
                    + kv.firstPosition());
        }
        if (q.headDim() != kv.headDim()) {
            throw new IllegalArgumentException("q: expected head dim " + kv.headDim() + " (the cache's) but got " + q.headDim());
        }
        if (q.heads() % kv.kvHeads() != 0) {
            throw new IllegalArgumentException("heads: expected Hq a multiple of Hkv = " + kv.kvHeads() + " but got Hq = " + q.heads());
        }
        if (q.lastPosition() >= kv.length()) {
            throw new IllegalArgumentException("positions: expected < T = " + kv.length() + " but got " + q.lastPosition());
        }
        if (!(Float.isFinite(scale) && scale > 0)) {
            throw new IllegalArgumentException("scale: expected a finite value > 0 but got " + scale);
        }
        // A prefill's queries (as its per-channel gates) are the largest arrays a call reads: checked in slices (see allFiniteInSlices).
        if (!allFiniteInSlices(q.data(), q.data().length)) finite("q", q.data(), q.data().length);
    }

    private static void blockSizeMatches(KvSource kv, BlockGeometry g) {
        int cacheBlock = switch (kv) {
            case KvCache c -> c.blockSize();
            case KvCacheView v -> v.blockSize();
            case SwaCache s -> g.blockSize();
        };
        if (cacheBlock != g.blockSize()) {
            throw new IllegalArgumentException("blockSize: expected " + cacheBlock + " (the cache's block size) but got " + g.blockSize());
        }
    }

    private static void selectionFits(String name, BlockSelection sel, Queries q, KvSource kv) {
        blockSizeMatches(kv, sel.geometry());
        if (sel.kvHeads() != kv.kvHeads()) {
            throw new IllegalArgumentException(name + ": expected " + kv.kvHeads() + " KV heads but got " + sel.kvHeads());
        }
        QueryBlocks want = QueryBlocks.of(q.positions(), sel.geometry().queryBlockSize());
        if (want.first() != sel.queryBlocks().first() || want.count() != sel.queryBlocks().count()
                || !Arrays.equals(want.lastPosition(), sel.queryBlocks().lastPosition())) {
            throw new IllegalArgumentException(name + ": expected query blocks " + want.first() + ".." + (want.first() + want.count() - 1)
                    + " for these positions but got " + sel.queryBlocks().first() + ".."
                    + (sel.queryBlocks().first() + sel.queryBlocks().count() - 1));
        }
        int bs = sel.geometry().blockSize();
        for (int h = 0; h < sel.kvHeads(); h++) {
            for (int qb = 0; qb < want.count(); qb++) {
                int[] blocks = sel.blocks(h, qb);
                if (blocks == null) throw new IllegalArgumentException(name + "[" + h + "][" + qb + "]: expected a block list but got null");
                int visible = want.visibleBlocks(qb, bs);
                for (int i = 0; i < blocks.length; i++) {
                    if (blocks[i] < 0 || blocks[i] >= visible) {
                        throw new IllegalArgumentException(name + "[" + h + "][" + qb + "]: expected block indices in 0.."
                                + (visible - 1) + " but got " + blocks[i]);
                    }
                    if (i > 0 && blocks[i] <= blocks[i - 1]) {
                        throw new IllegalArgumentException(name + "[" + h + "][" + qb + "]: expected strictly ascending indices but got "
                                + Arrays.toString(blocks));
                    }
                }
            }
        }
    }

    /** Per head {@code [Lq][Hq]} or per channel {@code [Lq][Hq][D]} (SPEC 3), values in [0, 1]. */
    static void gate(String name, float[] gate, Queries q) {
        long perHead = (long) q.rows() * q.heads();
        if (gate == null || (gate.length != perHead && gate.length != perHead * q.headDim())) {
            throw new IllegalArgumentException(name + ": expected [" + q.rows() + "][" + q.heads() + "] = " + perHead
                    + " (per head) or [" + q.rows() + "][" + q.heads() + "][" + q.headDim() + "] = " + perHead * q.headDim()
                    + " (per channel) elements but got " + (gate == null ? "null" : gate.length));
        }
        // Per-channel gates are as large as the queries: checked in slices as they are (see allFiniteInSlices).
        if (allWithinInSlices(gate, gate.length, 0f, 1f)) return;
        for (int i = 0; i < gate.length; i++) {
            if (!(gate[i] >= 0f && gate[i] <= 1f)) {
                throw new IllegalArgumentException(name + ": expected values in [0, 1] but got " + gate[i] + " at index " + i);
            }
        }
    }

    /** Optional per-head sink logits: absent ({@code null}), or {@code [Hq]} finite values. */
    private static void sink(String name, float[] sink, Queries q) {
        if (sink == null) return;
        length(name, sink, q.heads(), "[" + q.heads() + "] (one sink logit per query head)");
        finite(name, sink, sink.length);
    }

    static void positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException(name + ": expected >= 1 but got " + value);
    }

    static void blockSize(String name, int b) {
        if (b < 16 || b > 256 || Integer.bitCount(b) != 1) {
            throw new IllegalArgumentException(name + ": expected a power of two in 16..256 but got " + b);
        }
    }

    static void length(String name, float[] a, long expected, String shape) {
        if (a == null) throw new IllegalArgumentException(name + ": expected " + shape + " but got null");
        if (a.length != expected) {
            throw new IllegalArgumentException(name + ": expected " + shape + " = " + expected + " elements but got " + a.length);
        }
    }

    static void length(String name, int[] a, int expected) {
        if (a == null) throw new IllegalArgumentException(name + ": expected " + expected + " elements but got null");
        if (a.length != expected) {
            throw new IllegalArgumentException(name + ": expected " + expected + " elements but got " + a.length);
        }
    }

    static void finite(String name, float[] a, int n) {
        // On this thread, allocating nothing: a check runs before appends that may meet a nearly full heap, whose
        // failure must be the append's OutOfHeapException with the cache intact (slices on the pool allocate, and
        // OutOfHeapTest failed with them).
        if (allFinite(a, 0, n)) return;
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(a[i])) {
                throw new IllegalArgumentException(name + ": expected finite values but got " + a[i] + " at index " + i);
            }
        }
    }

    /** Arrays of at least this many floats are checked in slices by {@link #allWithinInSlices}. */
    static final int PARALLEL_CHECK = 1 << 22;

    /**
     * {@link #allFinite} of {@code a[0..n)}, at or past {@link #PARALLEL_CHECK} in slices on the common pool: a prefill's
     * queries (8k rows of 32 heads of 128, 134 MB) are read at the memory bandwidth of several cores, not one; a pass on
     * one core is slower than the copy a device backend makes of them. Not for appends: see finite.
     */
    static boolean allFiniteInSlices(float[] a, int n) {
        return allWithinInSlices(a, n, -Float.MAX_VALUE, Float.MAX_VALUE);
    }

    /** {@link #allWithin} of {@code a[0..n)}: whole on this thread below {@link #PARALLEL_CHECK}, else in {@link Slices}. */
    private static boolean allWithinInSlices(float[] a, int n, float least, float most) {
        return Slices.allMatch(n, PARALLEL_CHECK, (lo, hi) -> allWithin(a, lo, hi, least, most));
    }

    /** Whether {@code a[lo..hi)} holds no NaN or infinity: every value within +-{@link Float#MAX_VALUE} (see allWithin). */
    static boolean allFinite(float[] a, int lo, int hi) {
        return allWithin(a, lo, hi, -Float.MAX_VALUE, Float.MAX_VALUE);
    }

    /**
     * Whether every value of {@code a[lo..hi)} lies in {@code [least, most]} ({@code least <= most}); a NaN does not. A
     * running minimum and maximum, a NaN carried through both, rather than a loop that stops at the first bad value:
     * C2 turns float min and max reductions into vector instructions (a sum would have to keep Java's order, and an
     * exit per element keeps the loop scalar), so the pass is bound by memory; the bad value's index is only looked
     * for once one is known to be there.
     */
    static boolean allWithin(float[] a, int lo, int hi, float least, float most) {
        float min = least, max = least;
        for (int i = lo; i < hi; i++) {
            min = Math.min(min, a[i]);
            max = Math.max(max, a[i]);
        }
        return min >= least && max <= most;
    }
}
