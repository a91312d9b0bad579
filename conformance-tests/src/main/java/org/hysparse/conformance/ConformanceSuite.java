package org.hysparse.conformance;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.hysparse.api.*;
import org.hysparse.reference.ReferenceBackend;

/**
 * The conformance kit: every rule of {@link Rule} checked against the {@code reference} backend, on
 * the cases of {@link CaseGrid} in one KV precision. One instance per precision; not thread-safe.
 */
public final class ConformanceSuite {
    public static final long DEFAULT_SEED = 20261122L;

    private final KvPrecision precision;
    private final long seed;
    private final Tolerance tol;
    private final ReferenceBackend ref = new ReferenceBackend();
    private final Map<String, OracleOutput> refOracle = new HashMap<>();
    /** The case the running rule is on, named in the failure when the backend throws. */
    private volatile String currentCase;

    public ConformanceSuite(KvPrecision precision, long seed) {
        this.precision = precision;
        this.seed = seed;
        this.tol = Tolerance.of(precision);
    }

    public KvPrecision precision() { return precision; }

    public long seed() { return seed; }

    /** Runs {@code rules} against {@code backend}; each rule's failure or skip is recorded, never thrown. */
    public ConformanceReport run(AttentionBackend backend, Set<Rule> rules) {
        List<RuleResult> results = new ArrayList<>();
        for (Rule rule : rules) results.add(check(rule, backend));
        return new ConformanceReport(backend.name(), precision, results);
    }

    public ConformanceReport run(AttentionBackend backend) {
        return run(backend, EnumSet.allOf(Rule.class));
    }

    /** One rule: PASSED, FAILED with the rule id and case in the message, or SKIPPED with the reason. */
    public RuleResult check(Rule rule, AttentionBackend backend) {
        long start = System.nanoTime();
        try {
            if (!backend.precisions().contains(precision)) {
                throw new RuleSkipped(backend.name() + " does not read " + precision + " KV");
            }
            dispatch(rule, backend);
            return new RuleResult(rule, RuleResult.Status.PASSED, rule.title(), millis(start));
        } catch (RuleSkipped s) {
            return new RuleResult(rule, RuleResult.Status.SKIPPED, rule.id() + " skipped: " + s.getMessage(), millis(start));
        } catch (RuleFailure f) {
            return new RuleResult(rule, RuleResult.Status.FAILED, f.getMessage(), millis(start), f.getCause() != null ? f.getCause() : f);
        } catch (RuntimeException | AssertionError | OutOfMemoryError e) {
            // The backend threw: say where (the case that was running) and keep the exception for its stack trace.
            String where = currentCase != null ? " in case " + currentCase : "";
            return new RuleResult(rule, RuleResult.Status.FAILED, rule.id() + " threw " + e + where + " [seed=" + seed + ", "
                    + precision + "] (the cause has the stack trace)", millis(start), e);
        } finally {
            currentCase = null;
        }
    }

    private static long millis(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    private void dispatch(Rule rule, AttentionBackend b) {
        switch (rule) {
            case ORACLE_1 -> forEachCase(w -> Compare.rows(rule, ctx(w), b.oracle(oracleRequest(w)).out(), refOracle(w).out(),
                    w.c.hq(), w.c.dim(), tol.outRelL2()));
            case ORACLE_2 -> forEachCase(w -> scores(rule, ctx(w) + " MASS", b.oracle(oracleRequest(w).withScores(ScoreMode.MASS)).scores(),
                    refOracle(w, ScoreMode.MASS).scores()));
            case ORACLE_5 -> forEachCase(w -> scores(rule, ctx(w) + " MAX", b.oracle(oracleRequest(w)).scores(), refOracle(w).scores()));
            case ORACLE_3 -> forEachCase(w -> {
                for (ScoreMode mode : ScoreMode.values()) {
                    scoreInvariants(rule, w, b.oracle(oracleRequest(w).withScores(mode)).scores());
                }
            });
            case ORACLE_4 -> causality(b);
            case SELECT_1 -> forEachCase(w -> {
                for (SelectionPolicy p : policies(w)) {
                    SelectionRequest r = new SelectionRequest(scoresFor(w, p), p);
                    Compare.exactly(rule, ctx(w) + " " + p, b.select(r), ref.select(r));
                }
            });
            case SELECT_2 -> forEachCase(w -> selectionShape(rule, w, b));
            case SELECT_3 -> forEachCase(w -> massTarget(rule, w, b));
            case SELECT_4 -> needles(b);
            case SELECT_5 -> forEachCase(w -> fused(rule, w, b));
            case SPARSE_1 -> forEachCase(w -> {
                BlockSelection sel = ref.select(new SelectionRequest(refOracle(w).scores(), SelectionPolicy.TopK.of(w.c.k())));
                SparseRequest r = sparseRequest(w, sel);
                Compare.rows(rule, ctx(w), b.sparse(r), ref.sparse(r), w.c.hq(), w.c.dim(), tol.outRelL2());
                // Each branch alone (gates 1/0 and 0/1): a wrong window and a wrong selected branch no longer look alike.
                float[] ones = new float[w.gateSel.length], zeros = new float[w.gateSel.length];
                Arrays.fill(ones, 1f);
                int win = w.swa == null ? 0 : w.c.window();
                SparseRequest selOnly = SparseRequest.of(w.queries, w.cache.view(), sel, w.swa, win, ones, zeros);
                Compare.rows(rule, ctx(w) + " selected branch alone (gates 1/0)", b.sparse(selOnly), ref.sparse(selOnly),
                        w.c.hq(), w.c.dim(), tol.outRelL2());
                SparseRequest swaOnly = SparseRequest.of(w.queries, w.cache.view(), sel, w.swa, win, zeros, ones);
                Compare.rows(rule, ctx(w) + " window branch alone (gates 0/1)", b.sparse(swaOnly), ref.sparse(swaOnly),
                        w.c.hq(), w.c.dim(), tol.outRelL2());
            });
            case SINK_1 -> forEachCase(w -> oracleSinks(rule, w, b));
            case SINK_2 -> forEachCase(w -> {
                SparseRequest r = sparseRequest(w, paperSelection(w));
                float[][][] variants = {{w.sinkSel, null}, {null, w.sinkSwa}, {w.sinkSel, w.sinkSwa}};
                for (float[][] v : variants) {
                    SparseRequest withSinks = r.withSinks(v[0], v[1]);
                    Compare.rows(rule, ctx(w) + " sinks" + (v[0] != null ? " sel" : "") + (v[1] != null ? " swa" : ""),
                            b.sparse(withSinks), ref.sparse(withSinks), w.c.hq(), w.c.dim(), tol.outRelL2());
                }
            });
            case GATE_1 -> forEachCase(w -> {
                BlockSelection sel = paperSelection(w);
                int win = w.swa == null ? 0 : w.c.window();
                float[][][] variants = {{w.channelGateSel, w.channelGateSwa}, {w.channelGateSel, w.gateSwa}, {w.gateSel, w.channelGateSwa}};
                String[] names = {"both per channel", "gateSel per channel", "gateSwa per channel"};
                for (int i = 0; i < variants.length; i++) {
                    SparseRequest r = SparseRequest.of(w.queries, w.cache.view(), sel, w.swa, win, variants[i][0], variants[i][1]);
                    Compare.rows(rule, ctx(w) + " " + names[i], b.sparse(r), ref.sparse(r), w.c.hq(), w.c.dim(), tol.outRelL2());
                }
            });
            case MASS_1 -> forEachCase(w -> {
                BlockSelection sel = ref.select(new SelectionRequest(refOracle(w).scores(), SelectionPolicy.TopK.of(w.c.k())));
                droppedMass(rule, ctx(w), b, DroppedMassRequest.of(w.queries, w.cache, sel));
            });
            case E2E_1 -> new Pipeline(this, b, ref).run();
            case BATCH_1 -> new Batches(this, b, ref, 0xBA1).mixed();
            case BATCH_2 -> new Batches(this, b, ref, 0xBA2).isolation();
            case BATCH_3 -> new Batches(this, b, ref, 0xBA3).continuous();
            case KV_1 -> viewFollowsCache(b);
            case KV_2 -> byteAccounting(b);
            case KV_3 -> noCopyOnDecode(b);
            case DET_1 -> determinism(b);
            case THREAD_1 -> threadSafety(b);
            case ERR_1 -> new BadInputs(this, b).checkRejected();
            case ERR_2 -> new BadInputs(this, b).checkUntouched();
            case INPUT_1 -> inputsUnchanged(b);
        }
    }

    // ---- cases and shared requests ----

    List<Case> cases() {
        return CaseGrid.all(seed);
    }

    Case find(String name) {
        return cases().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    private void forEachCase(Consumer<Workload> check) {
        for (Case c : cases()) {
            try (Workload w = open(c)) {
                check.accept(w);
            }
        }
    }

    /** The workload of case {@code c}, remembered as the running case for a failure's message. */
    Workload open(Case c) {
        Workload w = new Workload(c, precision);
        currentCase = ctx(w);
        return w;
    }

    String ctx(Workload w) {
        return "[" + w.c.describe() + ", " + precision + "]";
    }

    static OracleRequest oracleRequest(Workload w) {
        return OracleRequest.of(w.queries, w.cache, w.c.geometry());
    }

    static SparseRequest sparseRequest(Workload w, BlockSelection sel) {
        return SparseRequest.of(w.queries, w.cache.view(), sel, w.swa, w.swa == null ? 0 : w.c.window(), w.gateSel, w.gateSwa);
    }

    /** The reference's oracle for a case in {@code MAX} mode (the default), computed once per suite. */
    OracleOutput refOracle(Workload w) {
        return refOracle(w, ScoreMode.MAX);
    }

    /** The reference's oracle for a case in {@code mode}, computed once per suite (the reference is deterministic). */
    OracleOutput refOracle(Workload w, ScoreMode mode) {
        return refOracle.computeIfAbsent(w.c.name() + "/" + mode, n -> ref.oracle(oracleRequest(w).withScores(mode)));
    }

    /** The reference's MASS scores for mass targeting (which needs masses), its MAX scores otherwise. */
    private BlockScores scoresFor(Workload w, SelectionPolicy p) {
        return refOracle(w, p instanceof SelectionPolicy.MassTarget ? ScoreMode.MASS : ScoreMode.MAX).scores();
    }

    /** The paper's selection (SPEC 6: MAX scores, nothing forced) at the case's k. */
    private BlockSelection paperSelection(Workload w) {
        return ref.select(new SelectionRequest(refOracle(w).scores(), SelectionPolicy.TopK.paper(w.c.k())));
    }

    private static List<SelectionPolicy> policies(Workload w) {
        int nb = w.c.kvBlocks();
        return List.of(SelectionPolicy.TopK.of(w.c.k()), SelectionPolicy.TopK.paper(w.c.k()),
                new SelectionPolicy.TopK(Math.max(1, w.c.k() - 1), true, 3), SelectionPolicy.MassTarget.of(0.1, nb));
    }

    /** S within tolerance, and in the mode the reference's are in (a backend must say which mode it filled). */
    private void scores(Rule rule, String context, BlockScores got, BlockScores want) {
        check(rule, got.mode() == want.mode(), context + ": scores in " + got.mode() + " mode, asked for " + want.mode());
        Compare.scores(rule, context, got, want, tol.scoreAbs());
    }

    private void droppedMass(Rule rule, String context, AttentionBackend b, DroppedMassRequest r) {
        DroppedMass got = b.droppedMass(r), want = ref.droppedMass(r);
        if (!(Math.abs(got.max() - want.max()) <= tol.scoreAbs() && Math.abs(got.mean() - want.mean()) <= tol.scoreAbs())) {
            throw new RuleFailure(rule, context + ": backend " + got + " vs reference " + want + ", tolerance " + tol.scoreAbs());
        }
    }

    /** HS-SINK-1: the oracle with the case's sink logits, output and both score modes; dropped mass under them. */
    private void oracleSinks(Rule rule, Workload w, AttentionBackend b) {
        String context = ctx(w) + " with oracle sinks";
        for (ScoreMode mode : ScoreMode.values()) {
            OracleRequest r = oracleRequest(w).withSink(w.sinkOracle).withScores(mode);
            OracleOutput got = b.oracle(r), want = ref.oracle(r);
            if (mode == ScoreMode.MAX) Compare.rows(rule, context, got.out(), want.out(), w.c.hq(), w.c.dim(), tol.outRelL2());
            scores(rule, context + " " + mode, got.scores(), want.scores());
        }
        BlockSelection sel = paperSelection(w);
        droppedMass(rule, context + " dropped mass", b, DroppedMassRequest.of(w.queries, w.cache, sel).withSink(w.sinkOracle));
    }

    // ---- rule bodies ----

    private void scoreInvariants(Rule rule, Workload w, BlockScores s) {
        QueryBlocks qbs = s.queryBlocks();
        for (int h = 0; h < s.kvHeads(); h++) {
            for (int qb = 0; qb < qbs.count(); qb++) {
                int visible = qbs.visibleBlocks(qb, s.geometry().blockSize());
                for (int j = 0; j < s.kvBlocks(); j++) {
                    float v = s.get(h, qb, j);
                    boolean ok = j < visible ? v >= 0f && v <= 1f + tol.scoreAbs() : v == 0f;
                    if (!ok) {
                        throw new RuleFailure(rule, ctx(w) + ": S[h=" + h + "][qb=" + qb + "][j=" + j + "] = " + v
                                + (j < visible ? ", expected within [0, 1]" : ", expected exactly 0 (block after every row of the query block)"));
                    }
                }
            }
        }
    }

    private void causality(AttentionBackend b) {
        for (String name : List.of("partial-last-block", "t-below-b-prefill", "gqa-32-8-decode")) {
            try (Workload w = open(find(name))) {
                OracleOutput before = b.oracle(oracleRequest(w));
                Random rnd = new Random(seed ^ 0x5EED);
                int extra = 2 * w.c.block() + 3;
                int n = extra * w.c.hkv() * w.c.dim();
                w.cache.append(Workload.gaussian(rnd, n, 5f), Workload.gaussian(rnd, n, 5f), extra);
                OracleOutput after = b.oracle(oracleRequest(w));
                Compare.rows(Rule.ORACLE_4, ctx(w) + " after appending " + extra + " future tokens", after.out(), before.out(),
                        w.c.hq(), w.c.dim(), tol.outRelL2() / 10);
                BlockScores sb = before.scores(), sa = after.scores();
                for (int h = 0; h < sb.kvHeads(); h++) {
                    for (int qb = 0; qb < sb.queryBlocks().count(); qb++) {
                        for (int j = 0; j < sa.kvBlocks(); j++) {
                            float was = j < sb.kvBlocks() ? sb.get(h, qb, j) : 0f;
                            if (!(Math.abs(sa.get(h, qb, j) - was) <= tol.scoreAbs() / 10)) {
                                throw new RuleFailure(Rule.ORACLE_4, ctx(w) + ": S[" + h + "][" + qb + "][" + j + "] was " + was
                                        + " and became " + sa.get(h, qb, j) + " after appending future tokens");
                            }
                        }
                    }
                }
            }
        }
    }

    private void selectionShape(Rule rule, Workload w, AttentionBackend b) {
        BlockScores s = refOracle(w).scores();
        for (SelectionPolicy p : policies(w)) {
            if (!(p instanceof SelectionPolicy.TopK t)) continue;
            BlockSelection sel = b.select(new SelectionRequest(s, p));
            check(rule, sel.blocks().length == s.kvHeads() * s.queryBlocks().count(), ctx(w) + " " + p + ": " + sel.blocks().length + " lists");
            if (sel.kvHeads() != s.kvHeads() || sel.queryBlocks().count() != s.queryBlocks().count()) {
                throw new RuleFailure(rule, ctx(w) + " " + p + ": selection shape [" + sel.kvHeads() + "][" + sel.queryBlocks().count()
                        + "], expected [" + s.kvHeads() + "][" + s.queryBlocks().count() + "]");
            }
            for (int h = 0; h < s.kvHeads(); h++) {
                for (int qb = 0; qb < s.queryBlocks().count(); qb++) {
                    int visible = s.queryBlocks().visibleBlocks(qb, s.geometry().blockSize());
                    int[] blocks = sel.blocks(h, qb);
                    String where = ctx(w) + " " + p + " (h=" + h + ", qb=" + qb + ", visible=" + visible + "): " + Arrays.toString(blocks);
                    if (blocks.length != Math.min(t.k(), visible)) {
                        throw new RuleFailure(rule, where + " has " + blocks.length + " blocks, expected min(k, visible) = " + Math.min(t.k(), visible));
                    }
                    for (int i = 0; i < blocks.length; i++) {
                        if (blocks[i] < 0 || blocks[i] >= visible || (i > 0 && blocks[i] <= blocks[i - 1])) {
                            throw new RuleFailure(rule, where + " is not ascending within 0.." + (visible - 1));
                        }
                    }
                    if (t.sink() && visible > 0 && Arrays.binarySearch(blocks, 0) < 0) {
                        throw new RuleFailure(rule, where + " lacks the sink block 0");
                    }
                    int forced = (t.sink() ? 1 : 0);
                    for (int l = 0; l < t.local() && visible - 1 - l > 0 && forced < t.k(); l++, forced++) {
                        if (Arrays.binarySearch(blocks, visible - 1 - l) < 0) {
                            throw new RuleFailure(rule, where + " lacks local block " + (visible - 1 - l));
                        }
                    }
                }
            }
        }
    }

    private void massTarget(Rule rule, Workload w, AttentionBackend b) {
        int nb = w.c.kvBlocks();
        for (double delta : new double[] {0.02, 0.1, 0.3}) {
            BlockSelection sel = b.select(new SelectionRequest(refOracle(w, ScoreMode.MASS).scores(), SelectionPolicy.MassTarget.of(delta, nb)));
            DroppedMass dm = ref.droppedMass(DroppedMassRequest.of(w.queries, w.cache, sel));
            // 1e-6: S is stored as float32, so its sums carry that much rounding.
            if (!(dm.max() <= delta + 1e-6)) {
                throw new RuleFailure(rule, ctx(w) + ": delta target " + delta + " but the reference measures a dropped mass of "
                        + dm.max() + " for the backend's selection");
            }
        }
    }

    /** HS-SELECT-5: the fused call against the two calls it stands for, on the backend itself and the reference. */
    private void fused(Rule rule, Workload w, AttentionBackend b) {
        for (SelectionPolicy p : List.of(SelectionPolicy.TopK.paper(w.c.k()), SelectionPolicy.TopK.of(w.c.k()))) {
            OracleRequest r = oracleRequest(w);
            OracleOutput out = OracleOutput.allocate(r);
            BlockSelection fusedSel = b.oracleAndSelect(r, out, p);
            Compare.rows(rule, ctx(w) + " fused oracle", out.out(), refOracle(w).out(), w.c.hq(), w.c.dim(), tol.outRelL2());
            scores(rule, ctx(w) + " fused oracle", out.scores(), refOracle(w).scores());
            Compare.exactly(rule, ctx(w) + " " + p + " fused vs select on its own scores", fusedSel, b.select(new SelectionRequest(out.scores(), p)));
        }
        // A mass target over MAX scores is refused before the oracle writes anything.
        OracleRequest r = oracleRequest(w);
        OracleOutput out = OracleOutput.allocate(r);
        java.util.Arrays.fill(out.out(), 7f);
        try {
            b.oracleAndSelect(r, out, SelectionPolicy.MassTarget.of(0.1, w.c.kvBlocks()));
            throw new RuleFailure(rule, ctx(w) + ": a mass target over MAX scores was accepted by oracleAndSelect");
        } catch (IllegalArgumentException e) {
            check(rule, String.valueOf(e.getMessage()).startsWith("scores"), ctx(w) + ": the refusal should name 'scores': " + e.getMessage());
        }
        for (float f : out.out()) check(rule, f == 7f, ctx(w) + ": oracleAndSelect wrote its output before refusing the policy");
    }

    private void needles(AttentionBackend b) {
        for (Case c : cases()) {
            if (c.pattern() != Pattern.NEEDLE) continue;
            try (Workload w = open(c)) {
                // The paper's way (MAX scores, nothing forced) and v1's (MASS scores, sink and local forced).
                BlockSelection paper = b.select(new SelectionRequest(b.oracle(oracleRequest(w)).scores(), SelectionPolicy.TopK.paper(c.k())));
                BlockSelection v1 = b.select(new SelectionRequest(b.oracle(oracleRequest(w).withScores(ScoreMode.MASS)).scores(),
                        SelectionPolicy.TopK.of(c.k())));
                for (BlockSelection sel : List.of(paper, v1)) {
                    String how = sel == paper ? " (MAX scores, paper TopK)" : " (MASS scores, v1 TopK)";
                    for (int h = 0; h < c.hkv(); h++) {
                        for (int qb = 0; qb < sel.queryBlocks().count(); qb++) {
                            if (Arrays.binarySearch(sel.blocks(h, qb), c.needleBlock()) < 0) {
                                throw new RuleFailure(Rule.SELECT_4, ctx(w) + how + ": needle block " + c.needleBlock() + " missing from (h="
                                        + h + ", qb=" + qb + ") selection " + Arrays.toString(sel.blocks(h, qb)));
                            }
                        }
                    }
                }
            }
        }
    }

    private void viewFollowsCache(AttentionBackend b) {
        try (Workload w = open(find("gqa-32-8-decode"))) {
            KvCacheView view = w.cache.view();
            if (!view.sharesWith(w.cache) || view.keyPage(0) != w.cache.keyPage(0) || view.ownedBytes() != 0) {
                throw new RuleFailure(Rule.KV_1, ctx(w) + ": the view does not read the cache's own pages");
            }
            SparseRequest first = sparseRequest(w, ref.select(new SelectionRequest(refOracle(w).scores(), SelectionPolicy.TopK.of(4))));
            b.sparse(first); // a backend that snapshots the view would keep this stale copy
            Random rnd = new Random(seed ^ 0xCAFE);
            int extra = 2 * w.c.block() + 5;
            int n = extra * w.c.hkv() * w.c.dim();
            w.cache.append(Workload.gaussian(rnd, n, 3f), Workload.gaussian(rnd, n, 3f), extra);
            w.swa.append(Workload.gaussian(rnd, n, 1f), Workload.gaussian(rnd, n, 1f), extra);
            Queries q = Queries.last(Workload.gaussian(rnd, w.c.hq() * w.c.dim(), 1f), 1, w.c.hq(), w.c.dim(), w.cache.length());
            OracleOutput full = ref.oracle(OracleRequest.of(q, w.cache, w.c.geometry()));
            BlockSelection sel = ref.select(new SelectionRequest(full.scores(), new SelectionPolicy.TopK(6, true, 3)));
            SparseRequest r = SparseRequest.of(q, view, sel, w.swa, w.c.window(), w.gateSel, w.gateSwa);
            Compare.rows(Rule.KV_1, ctx(w) + " after appending " + extra + " tokens to the full cache", b.sparse(r), ref.sparse(r),
                    w.c.hq(), w.c.dim(), tol.outRelL2());
        }
    }

    /**
     * SPEC 4's byte formulas, on caches the backend has just read (reading never grows or copies them), and the
     * backend's own device memory: back to its level before once the caches it read are closed.
     */
    private void byteAccounting(AttentionBackend b) {
        long deviceBefore = b.deviceMemoryBytes();
        try (Workload w = open(find("partial-last-block"))) {
            Case c = w.c;
            everything(b, w);
            long per = (long) c.hkv() * c.dim() * precision.bytes();
            check(Rule.KV_2, w.cache.bytes() == 2L * c.tokens() * per, ctx(w) + ": cache bytes " + w.cache.bytes() + ", SPEC 4 says " + 2L * c.tokens() * per);
            check(Rule.KV_2, w.cache.view().ownedBytes() == 0, ctx(w) + ": the view owns " + w.cache.view().ownedBytes() + " bytes");
            long swaTokens = Math.min(c.tokens(), w.swa.capacity());
            check(Rule.KV_2, w.swa.bytes() == 2L * swaTokens * per, ctx(w) + ": SWA bytes " + w.swa.bytes() + ", expected " + 2L * swaTokens * per);
            KvBudget paper = new KvBudget(49, 5, 1L << 24, 128, c.hkv(), c.dim(), precision);
            check(Rule.KV_2, Math.abs(paper.reductionVsFullAttention() - 9.8) < 1e-3, "49 layers, 5 full, T >> W: reduction "
                    + paper.reductionVsFullAttention() + ", SPEC 4 says 9.8");
            KvBudget here = new KvBudget(4, 1, c.tokens(), w.swa.capacity(), c.hkv(), c.dim(), precision);
            check(Rule.KV_2, here.hySparseBytes() == w.cache.bytes() + 3 * w.swa.bytes(), ctx(w) + ": budget " + here.hySparseBytes()
                    + " != one full cache + three windows " + (w.cache.bytes() + 3 * w.swa.bytes()));
        }
        long deviceAfter = b.deviceMemoryBytes();
        check(Rule.KV_2, deviceAfter <= deviceBefore, "device memory " + deviceBefore + " bytes before a workload and "
                + deviceAfter + " after its caches closed: a device copy outlived its cache [seed=" + seed + ", " + precision + "]");
    }

    /**
     * Allocation of one sparse decode step at T and again at 2T, with the same k and window: the work is
     * the same, so the allocation must be too. Copying the view costs in proportion to T and shows up here.
     */
    private void noCopyOnDecode(AttentionBackend b) {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (!(mx instanceof com.sun.management.ThreadMXBean sun) || !sun.isThreadAllocatedMemorySupported()) {
            throw new RuleSkipped("this JVM cannot measure per-thread allocation");
        }
        sun.setThreadAllocatedMemoryEnabled(true);
        try (Workload w = open(find("long-decode"))) {
            long atT = decodeStepAllocation(b, sun, w, w.queries);
            long bytesAtT = w.cache.bytes();
            Random rnd = new Random(seed ^ 0xA110C);
            int extra = w.cache.length();
            int n = extra * w.c.hkv() * w.c.dim();
            w.cache.append(Workload.gaussian(rnd, n, 1f), Workload.gaussian(rnd, n, 1f), extra);
            w.swa.append(Workload.gaussian(rnd, n, 1f), Workload.gaussian(rnd, n, 1f), extra);
            Queries q = Queries.last(Workload.gaussian(rnd, w.c.hq() * w.c.dim(), 1f), 1, w.c.hq(), w.c.dim(), w.cache.length());
            long at2T = decodeStepAllocation(b, sun, w, q);
            long limit = bytesAtT / 8;
            check(Rule.KV_3, at2T - atT < limit, ctx(w) + ": a sparse decode step allocated " + atT + " bytes at T = " + extra
                    + " and " + at2T + " at T = " + w.cache.length() + "; the growth exceeds " + limit
                    + " (1/8 of the added KV): is the view copied?");
        }
    }

    private long decodeStepAllocation(AttentionBackend b, com.sun.management.ThreadMXBean sun, Workload w, Queries q) {
        BlockScores s = ref.oracle(OracleRequest.of(q, w.cache, w.c.geometry())).scores();
        BlockSelection sel = ref.select(new SelectionRequest(s, SelectionPolicy.TopK.of(w.c.k())));
        SparseRequest r = SparseRequest.of(q, w.cache.view(), sel, w.swa, w.c.window(), w.gateSel, w.gateSwa);
        float[] out = new float[q.rows() * q.heads() * q.headDim()];
        for (int i = 0; i < 3; i++) b.sparse(r, out); // warm up: pools, JIT
        long before = totalAllocated(sun);
        b.sparse(r, out);
        return totalAllocated(sun) - before;
    }

    private static long totalAllocated(com.sun.management.ThreadMXBean mx) {
        long[] ids = mx.getAllThreadIds();
        long sum = 0;
        for (long a : mx.getThreadAllocatedBytes(ids)) if (a > 0) sum += a;
        return sum;
    }

    private record Outputs(float[] oracleOut, float[] scores, int[][] sel, float[] sparse, DroppedMass mass) {
    }

    private Outputs everything(AttentionBackend b, Workload w) {
        OracleOutput o = b.oracle(oracleRequest(w));
        BlockSelection sel = b.select(new SelectionRequest(o.scores(), SelectionPolicy.TopK.of(w.c.k())));
        float[] sparse = b.sparse(sparseRequest(w, sel));
        DroppedMass m = b.droppedMass(DroppedMassRequest.of(w.queries, w.cache, sel));
        return new Outputs(o.out(), o.scores().data(), sel.blocks(), sparse, m);
    }

    private void same(Rule rule, String context, Outputs a, Outputs b) {
        Compare.bitwise(rule, context + " oracle out", a.oracleOut, b.oracleOut);
        Compare.bitwise(rule, context + " scores", a.scores, b.scores);
        check(rule, Arrays.deepEquals(a.sel, b.sel), context + ": selections differ");
        Compare.bitwise(rule, context + " sparse out", a.sparse, b.sparse);
        check(rule, a.mass.equals(b.mass), context + ": dropped mass " + a.mass + " then " + b.mass);
    }

    private void determinism(AttentionBackend b) {
        for (String name : List.of("long-prefill-tail", "gqa-32-8-decode", "peaked")) {
            try (Workload w = open(find(name))) {
                same(Rule.DET_1, ctx(w), everything(b, w), everything(b, w));
            }
        }
    }

    /**
     * HS-THREAD-1. Two parts, both started together through a barrier with more threads than cores, so that calls
     * overlap: (1) many sparse layers of one full layer (each its own gates, sinks and selection) reading one
     * shared cache at once, the real HySparse pattern; (2) whole steps of different cases. Every result is
     * compared bitwise with the same call made serially.
     */
    private void threadSafety(AttentionBackend b) {
        int threads = Math.max(8, 2 * Runtime.getRuntime().availableProcessors());
        try (Workload w = open(find("partial-last-block"))) {
            Random rnd = new Random(seed ^ 0x7EAD);
            List<SparseRequest> layers = new ArrayList<>();
            for (int l = 0; l < threads; l++) {
                int k = 1 + l % Math.max(1, w.c.kvBlocks());
                BlockSelection sel = ref.select(new SelectionRequest(refOracle(w).scores(), SelectionPolicy.TopK.paper(k)));
                int n = w.gateSel.length;
                layers.add(SparseRequest.of(w.queries, w.cache.view(), sel, w.swa, w.c.window(), Workload.uniform(rnd, n),
                        Workload.uniform(rnd, n)).withSinks(l % 2 == 0 ? w.sinkSel : null, l % 3 == 0 ? w.sinkSwa : null));
            }
            List<float[]> serial = layers.stream().map(b::sparse).toList();
            concurrently(threads, t -> {
                for (int rep = 0; rep < 4; rep++) {
                    Compare.bitwise(Rule.THREAD_1, ctx(w) + " sparse layer " + t + " of " + threads + " sharing one cache, repetition "
                            + rep + ", concurrent vs serial", serial.get(t), b.sparse(layers.get(t)));
                }
            });
        }
        List<String> names = List.of("partial-last-block", "gqa-32-8-decode", "small-query-blocks", "needle");
        Map<String, Outputs> serial = new HashMap<>();
        for (String n : names) {
            try (Workload w = open(find(n))) {
                serial.put(n, everything(b, w));
            }
        }
        concurrently(threads, t -> {
            String n = names.get(t % names.size());
            try (Workload w = new Workload(find(n), precision)) {
                same(Rule.THREAD_1, ctx(w) + " thread " + t + " concurrent vs serial", serial.get(n), everything(b, w));
            }
        });
    }

    /** Runs {@code body(t)} on {@code threads} threads released together; the first failure is rethrown. */
    private void concurrently(int threads, java.util.function.IntConsumer body) {
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                futures.add(pool.submit(() -> {
                    start.await();
                    body.accept(id);
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof RuleFailure rf) throw rf;
                    throw new RuleFailure(Rule.THREAD_1, "a concurrent call threw " + e.getCause() + " [seed=" + seed + ", "
                            + precision + "]", e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RuleFailure(Rule.THREAD_1, "interrupted");
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private void inputsUnchanged(AttentionBackend b) {
        for (String name : List.of("partial-last-block", "window-beyond-t", "needle")) {
            try (Workload w = open(find(name))) {
                Snapshot before = Snapshot.of(w);
                OracleOutput o = b.oracle(oracleRequest(w));
                float[] scores = o.scores().data().clone();
                BlockSelection sel = b.select(new SelectionRequest(o.scores(), SelectionPolicy.TopK.of(w.c.k())));
                check(Rule.INPUT_1, Arrays.equals(scores, o.scores().data()), ctx(w) + ": select modified the scores it was given");
                int[][] blocks = Arrays.stream(sel.blocks()).map(int[]::clone).toArray(int[][]::new);
                b.sparse(sparseRequest(w, sel));
                b.droppedMass(DroppedMassRequest.of(w.queries, w.cache, sel));
                check(Rule.INPUT_1, Arrays.deepEquals(blocks, sel.blocks()), ctx(w) + ": sparse or droppedMass modified the selection");
                before.assertSame(Rule.INPUT_1, ctx(w), Snapshot.of(w));
            }
        }
    }

    static void check(Rule rule, boolean ok, String message) {
        if (!ok) throw new RuleFailure(rule, message);
    }

    ReferenceBackend reference() { return ref; }

    Tolerance tolerance() { return tol; }
}
