package org.hysparse.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hysparse.api.*;

/**
 * HS-E2E-1: one full layer and three sparse layers that share its cache, as the paper's model runs them
 * (SPEC 6: MAX scores, TopK with nothing forced, sink logits in both sparse branches, per-channel gates on
 * the first sparse layer and per-head gates on the others): a prefill tail, then decode steps that append
 * to the caches. Every step's oracle output, scores, selection (near-tie rule) and sparse outputs (given
 * the backend's own selection) are judged.
 */
final class Pipeline {
    private static final int HQ = 8, HKV = 2, D = 32, B = 16, PREFILL_T = 150, PREFILL_ROWS = 48, DECODE_STEPS = 6;
    private static final int SPARSE_LAYERS = 3, WINDOW = 24, K = 4;

    private final ConformanceSuite suite;
    private final AttentionBackend b;
    private final AttentionBackend ref;
    private final Random rnd;

    Pipeline(ConformanceSuite suite, AttentionBackend b, AttentionBackend ref) {
        this.suite = suite;
        this.b = b;
        this.ref = ref;
        this.rnd = new Random(suite.seed() ^ 0xE2E);
    }

    void run() {
        KvPrecision p = suite.precision();
        Tolerance tol = suite.tolerance();
        BlockGeometry g = BlockGeometry.of(B);
        List<SwaCache> windows = new ArrayList<>();
        try (KvCache cache = new KvCache(HKV, D, B, p)) {
            for (int l = 0; l < SPARSE_LAYERS; l++) windows.add(new SwaCache(HKV, D, WINDOW + PREFILL_ROWS - 1, p));
            append(cache, windows, PREFILL_T);
            step("prefill", cache, windows, g, PREFILL_ROWS, tol);
            for (SwaCache w : windows) w.shrink(WINDOW);
            for (int s = 1; s <= DECODE_STEPS; s++) {
                append(cache, windows, 1);
                step("decode step " + s, cache, windows, g, 1, tol);
            }
        } finally {
            windows.forEach(SwaCache::close);
        }
    }

    private void append(KvCache cache, List<SwaCache> windows, int tokens) {
        int n = tokens * HKV * D;
        cache.append(Workload.gaussian(rnd, n, 1f), Workload.gaussian(rnd, n, 1f), tokens);
        for (SwaCache w : windows) w.append(Workload.gaussian(rnd, n, 1f), Workload.gaussian(rnd, n, 1f), tokens);
    }

    private void step(String name, KvCache cache, List<SwaCache> windows, BlockGeometry g, int rows, Tolerance tol) {
        String ctx = "[E2E " + name + ", T=" + cache.length() + ", Hq/Hkv=" + HQ + "/" + HKV + ", D=" + D + ", B=" + B + ", W="
                + WINDOW + ", k=" + K + ", seed=" + suite.seed() + ", " + suite.precision() + "]";
        Queries q = Queries.last(Workload.gaussian(rnd, rows * HQ * D, 1.5f), rows, HQ, D, cache.length());
        OracleRequest or = OracleRequest.of(q, cache, g);
        OracleOutput got = b.oracle(or), want = ref.oracle(or);
        Compare.rows(Rule.E2E_1, ctx + " full layer", got.out(), want.out(), HQ, D, tol.outRelL2());
        Compare.scores(Rule.E2E_1, ctx + " full layer", got.scores(), want.scores(), tol.scoreAbs());
        SelectionPolicy policy = SelectionPolicy.TopK.paper(K);
        BlockSelection sel = b.select(new SelectionRequest(got.scores(), policy));
        Compare.nearTies(Rule.E2E_1, ctx, sel, ref.select(new SelectionRequest(want.scores(), policy)), want.scores(), tol.scoreAbs());
        for (int l = 0; l < windows.size(); l++) {
            Queries ql = Queries.last(Workload.gaussian(rnd, rows * HQ * D, 1.5f), rows, HQ, D, cache.length());
            int gate = l == 0 ? rows * HQ * D : rows * HQ;
            SparseRequest sr = SparseRequest.of(ql, cache.view(), sel, windows.get(l), WINDOW,
                    Workload.uniform(rnd, gate), Workload.uniform(rnd, gate))
                    .withSinks(Workload.sinks(rnd, HQ, K * B), Workload.sinks(rnd, HQ, WINDOW));
            Compare.rows(Rule.E2E_1, ctx + " sparse layer " + (l + 1), b.sparse(sr), ref.sparse(sr), HQ, D, tol.outRelL2());
        }
    }
}
