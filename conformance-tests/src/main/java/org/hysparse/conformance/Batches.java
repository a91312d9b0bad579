package org.hysparse.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hysparse.api.*;

/**
 * HS-BATCH-1..3: many sequences of one {@link KvPool} in one call. Each sequence's result in a batch must be what
 * the reference computes for it alone; sequences must not see each other's pages, also after pages are freed and
 * reused; and a run of steps with sequences arriving, leaving and forking must stay right throughout.
 */
final class Batches {
    private static final int HQ = 8, HKV = 2, D = 32, B = 16, WINDOW = 24, K = 3;

    private final ConformanceSuite suite;
    private final AttentionBackend b;
    private final AttentionBackend ref;
    private final Random rnd;

    Batches(ConformanceSuite suite, AttentionBackend b, AttentionBackend ref, long salt) {
        this.suite = suite;
        this.b = b;
        this.ref = ref;
        this.rnd = new Random(suite.seed() ^ salt);
    }

    /** One sequence: its full-layer cache (a pool sequence) and its sparse layer's own window cache. */
    private final class Seq implements AutoCloseable {
        final KvCache cache;
        final SwaCache window;
        final String name;

        Seq(KvCache cache, String name) {
            this.cache = cache;
            this.name = name;
            this.window = new SwaCache(HKV, D, WINDOW + 16, suite.precision()); // room for a 16-row prefill tail
            if (cache.length() > 0) window.append(gauss(cache.length(), 1f), gauss(cache.length(), 1f), cache.length());
        }

        void append(int tokens, float sigma) {
            cache.append(gauss(tokens, sigma), gauss(tokens, sigma), tokens);
            window.append(gauss(tokens, 1f), gauss(tokens, 1f), tokens);
        }

        @Override
        public void close() {
            cache.close();
            window.close();
        }
    }

    private float[] gauss(int tokens, float sigma) {
        return Workload.gaussian(rnd, tokens * HKV * D, sigma);
    }

    private String ctx(String what) {
        return "[batch " + what + ", Hq/Hkv=" + HQ + "/" + HKV + ", D=" + D + ", B=" + B + ", W=" + WINDOW + ", k=" + K
                + ", seed=" + suite.seed() + ", " + suite.precision() + "]";
    }

    /** Queries for each sequence: a prefill tail of {@code rows[i]} rows (1 = decode) at its last positions. */
    private List<Queries> queries(List<Seq> seqs, int[] rows) {
        List<Queries> out = new ArrayList<>();
        for (int i = 0; i < seqs.size(); i++) {
            out.add(Queries.last(Workload.gaussian(rnd, rows[i] * HQ * D, 1.5f), rows[i], HQ, D, seqs.get(i).cache.length()));
        }
        return out;
    }

    /** One layer pair for the batch: oracle (MAX) and the paper's selection, then the sparse layer; judged against the reference. */
    private record Step(List<OracleOutput> oracle, List<BlockSelection> selections, List<float[]> sparse) {
    }

    private Step step(Rule rule, String what, List<Seq> seqs, List<Queries> qs) {
        BlockGeometry g = BlockGeometry.of(B);
        List<OracleRequest> ors = new ArrayList<>();
        for (int i = 0; i < seqs.size(); i++) ors.add(OracleRequest.of(qs.get(i), seqs.get(i).cache, g));
        List<OracleOutput> got = b.oracle(new OracleBatch(ors));
        List<BlockSelection> sels = new ArrayList<>();
        List<SparseRequest> srs = new ArrayList<>();
        for (int i = 0; i < seqs.size(); i++) {
            Seq s = seqs.get(i);
            String c = ctx(what + ", sequence " + s.name + ", T=" + s.cache.length() + ", Lq=" + qs.get(i).rows());
            OracleOutput want = ref.oracle(ors.get(i));
            Compare.rows(rule, c + " oracle", got.get(i).out(), want.out(), HQ, D, suite.tolerance().outRelL2());
            Compare.scores(rule, c + " oracle", got.get(i).scores(), want.scores(), suite.tolerance().scoreAbs());
            // The reference's selection, so that the sparse layer is judged on the same blocks.
            BlockSelection sel = ref.select(new SelectionRequest(want.scores(), SelectionPolicy.TopK.paper(K)));
            sels.add(sel);
            int rows = qs.get(i).rows();
            srs.add(SparseRequest.of(qs.get(i), s.cache.view(), sel, s.window, WINDOW, Workload.uniform(rnd, rows * HQ * D),
                    Workload.uniform(rnd, rows * HQ)).withSinks(Workload.sinks(rnd, HQ, K * B), Workload.sinks(rnd, HQ, WINDOW)));
        }
        List<float[]> sparse = b.sparse(new SparseBatch(srs));
        for (int i = 0; i < seqs.size(); i++) {
            Seq s = seqs.get(i);
            Compare.rows(rule, ctx(what + ", sequence " + s.name + ", T=" + s.cache.length()) + " sparse", sparse.get(i),
                    ref.sparse(srs.get(i)), HQ, D, suite.tolerance().outRelL2());
        }
        return new Step(got, sels, sparse);
    }

    /** HS-BATCH-1: mixed lengths, prefill tails and decode rows, and a fork, in one batch; each as the reference has it. */
    void mixed() {
        try (KvPool pool = new KvPool(HKV, D, B, suite.precision())) {
            List<Seq> seqs = new ArrayList<>();
            int[] lengths = {37, 300, 129, 64, 1};
            for (int i = 0; i < lengths.length; i++) {
                Seq s = new Seq(pool.newSequence(), "#" + i);
                s.append(lengths[i], 1f);
                seqs.add(s);
            }
            Seq fork = new Seq(seqs.get(2).cache.fork(), "#2-fork");
            fork.append(3, 1f);
            seqs.add(fork);
            try {
                step(Rule.BATCH_1, "mixed", seqs, queries(seqs, new int[] {1, 6, 1, 16, 1, 2}));
                // A batch of one is the single call.
                List<Seq> one = List.of(seqs.get(1));
                List<Queries> q = queries(one, new int[] {1});
                OracleRequest r = OracleRequest.of(q.get(0), one.get(0).cache, BlockGeometry.of(B));
                Compare.bitwise(Rule.BATCH_1, ctx("of one") + " oracle vs the single call", b.oracle(OracleBatch.of(r)).get(0).out(),
                        b.oracle(r).out());
            } finally {
                seqs.forEach(Seq::close);
            }
        }
    }

    /**
     * HS-BATCH-2: a neighbour's pages never leak in. Sequence B is closed and sequence D reuses its pages with keys
     * and values a thousand times larger; the batch's other sequences must give bit-identical results, and D its own.
     */
    void isolation() {
        try (KvPool pool = new KvPool(HKV, D, B, suite.precision())) {
            Seq a = new Seq(pool.newSequence(), "A"), bb = new Seq(pool.newSequence(), "B"), c = new Seq(pool.newSequence(), "C");
            List<Seq> open = new ArrayList<>(List.of(a, bb, c));
            try {
                a.append(90, 1f);
                bb.append(70, 1f);
                c.append(45, 1f);
                List<Queries> q = queries(List.of(a, bb, c), new int[] {1, 1, 3});
                Step before = step(Rule.BATCH_2, "isolation, before", List.of(a, bb, c), q);
                int free = pool.freePages();
                bb.close();
                open.remove(bb);
                ConformanceSuite.check(Rule.BATCH_2, pool.freePages() > free, ctx("isolation") + ": closing a sequence returned no page");
                int allocated = pool.pagesAllocated();
                Seq d = new Seq(pool.newSequence(), "D (B's pages, poisoned)");
                open.add(d);
                d.append(70, 1000f);
                ConformanceSuite.check(Rule.BATCH_2, pool.pagesAllocated() == allocated,
                        ctx("isolation") + ": D did not reuse B's freed pages (" + pool.pagesAllocated() + " pages, " + allocated + " before)");
                List<Queries> qd = List.of(q.get(0), queries(List.of(d), new int[] {1}).get(0), q.get(2));
                Step after = step(Rule.BATCH_2, "isolation, after", List.of(a, d, c), qd);
                for (int i : new int[] {0, 2}) {
                    String who = ctx("isolation") + " sequence " + (i == 0 ? "A" : "C");
                    Compare.bitwise(Rule.BATCH_2, who + " oracle, beside B then beside poisoned D", before.oracle().get(i).out(),
                            after.oracle().get(i).out());
                    Compare.bitwise(Rule.BATCH_2, who + " scores", before.oracle().get(i).scores().data(), after.oracle().get(i).scores().data());
                }
            } finally {
                open.forEach(Seq::close);
            }
        }
    }

    /**
     * HS-BATCH-3: thirty decode steps; before each, sequences arrive (with a prefill), leave, or fork, at random.
     * Every step's batch is judged against the reference, and the pool never holds more pages than its peak use.
     */
    void continuous() {
        try (KvPool pool = new KvPool(HKV, D, B, suite.precision())) {
            List<Seq> live = new ArrayList<>();
            int made = 0, peak = 0;
            try {
                for (int step = 1; step <= 30; step++) {
                    int roll = rnd.nextInt(10);
                    if (live.isEmpty() || roll < 3) {
                        Seq s = new Seq(pool.newSequence(), "#" + made++);
                        s.append(1 + rnd.nextInt(200), 1f);
                        live.add(s);
                    } else if (roll < 5 && live.size() > 1) {
                        live.remove(rnd.nextInt(live.size())).close();
                    } else if (roll < 7) {
                        Seq parent = live.get(rnd.nextInt(live.size()));
                        live.add(new Seq(parent.cache.fork(), parent.name + "'"));
                        made++;
                    }
                    for (Seq s : live) s.append(1, 1f);
                    peak = Math.max(peak, pool.pagesInUse());
                    int[] rows = new int[live.size()];
                    java.util.Arrays.fill(rows, 1);
                    step(Rule.BATCH_3, "continuous, step " + step + " of 30, " + live.size() + " sequences", live, queries(live, rows));
                    ConformanceSuite.check(Rule.BATCH_3, pool.pagesAllocated() <= peak, ctx("continuous, step " + step)
                            + ": the pool holds " + pool.pagesAllocated() + " pages, more than the " + peak + " ever in use: freed pages are not reused");
                }
            } finally {
                live.forEach(Seq::close);
            }
        }
    }
}
