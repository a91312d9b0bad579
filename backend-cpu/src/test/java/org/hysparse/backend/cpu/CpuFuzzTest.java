package org.hysparse.backend.cpu;

import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.*;
import net.jqwik.api.lifecycle.AfterContainer;
import org.hysparse.api.*;
import org.hysparse.reference.ReferenceBackend;
import static org.hysparse.conformance.Workload.gaussian;
import static org.hysparse.conformance.Workload.sinks;
import static org.hysparse.conformance.Workload.uniform;

/**
 * Property-based fuzzing of the cpu backend against the reference: every run of the test command draws 1,000
 * fresh random cases (shapes, GQA ratios, block and query-block sizes, prefill tails and decode rows, windows,
 * policies, score modes, sinks, per-head or per-channel gates, KV precisions) and checks oracle output and S,
 * selection, sparse output and dropped mass. A failure is shrunk by jqwik to a minimal case, printed with the
 * seed that reproduces it ({@code @Property(seed = "...")}). Shapes are bounded (rows x Hq x T x D at most
 * about 20M multiply-adds) so that the 1,000 cases take seconds, not minutes: the run is time-boxed by size.
 */
class CpuFuzzTest {
    private static final AttentionBackend CPU = new CpuProvider().create(BackendOptions.none());
    private static final ReferenceBackend REF = new ReferenceBackend();

    /** One random case; {@code rows} is at most {@code tokens} and the window cache holds what the rows need. */
    record FuzzCase(int hkv, int group, int dim, int block, int queryBlock, int tokens, int rows, int window,
                    int k, int policy, ScoreMode mode, KvPrecision precision, boolean sinks, boolean perChannel, long seed) {
        int hq() { return hkv * group; }
    }

    record Shape(int hkv, int group, int dim, int block, int queryBlock, int tokens, int rows, int window) {
    }

    record Options(int k, int policy, ScoreMode mode, KvPrecision precision, boolean sinks, boolean perChannel, long seed) {
    }

    @Provide
    Arbitrary<FuzzCase> cases() {
        Arbitrary<Shape> shapes = Combinators.combine(Arbitraries.integers().between(1, 4), Arbitraries.of(1, 2, 4),
                Arbitraries.of(8, 16, 32, 64), Arbitraries.of(16, 32, 64), Arbitraries.of(1, 4, 16, 64, 128),
                Arbitraries.integers().between(1, 400), Arbitraries.integers().between(1, 48), Arbitraries.integers().between(0, 160))
                .as(Shape::new);
        Arbitrary<Options> options = Combinators.combine(Arbitraries.integers().between(1, 12), Arbitraries.integers().between(0, 3),
                Arbitraries.of(ScoreMode.class), Arbitraries.of(KvPrecision.class), Arbitraries.of(true, false),
                Arbitraries.of(true, false), Arbitraries.longs()).as(Options::new);
        return Combinators.combine(shapes, options).as((s, o) -> new FuzzCase(s.hkv(), s.group(), s.dim(), s.block(), s.queryBlock(),
                s.tokens(), Math.min(s.rows(), s.tokens()), s.window(), o.k(), o.policy(), o.mode(), o.precision(), o.sinks(),
                o.perChannel(), o.seed()));
    }

    @Property(tries = 1000, shrinking = ShrinkingMode.BOUNDED)
    void cpuMatchesTheReference(@ForAll("cases") FuzzCase c) {
        Random rnd = new Random(c.seed());
        int hq = c.hq(), rowElems = c.hkv() * c.dim();
        BlockGeometry geometry = new BlockGeometry(c.block(), c.queryBlock());
        try (KvCache cache = new KvCache(c.hkv(), c.dim(), c.block(), c.precision());
             SwaCache swa = c.window() == 0 ? null : new SwaCache(c.hkv(), c.dim(), Math.min(c.tokens(), c.window() + c.rows() - 1), c.precision())) {
            cache.append(gaussian(rnd, c.tokens() * rowElems, 1f), gaussian(rnd, c.tokens() * rowElems, 1f), c.tokens());
            if (swa != null) swa.append(gaussian(rnd, c.tokens() * rowElems, 1f), gaussian(rnd, c.tokens() * rowElems, 1f), c.tokens());
            // Unit queries and keys: logits (scaled by 1/sqrt(D)) about N(0, 1), a softmax neither flat nor one-hot.
            Queries q = Queries.last(gaussian(rnd, c.rows() * hq * c.dim(), 1f),
                    c.rows(), hq, c.dim(), c.tokens());
            float[] sinkOracle = c.sinks() ? sinks(rnd, hq, c.tokens()) : null;
            double outTol = Tolerances.outRelL2(c.precision()), sTol = Tolerances.scoreAbs(c.precision());

            OracleRequest oracle = OracleRequest.of(q, cache, geometry).withScores(c.mode()).withSink(sinkOracle);
            OracleOutput got = CPU.oracle(oracle), want = REF.oracle(oracle);
            rows(c + " oracle out", got.out(), want.out(), c.dim(), outTol);
            close(c + " oracle S (" + c.mode() + ")", got.scores().data(), want.scores().data(), sTol);

            SelectionPolicy policy = switch (c.policy()) {
                case 0 -> SelectionPolicy.TopK.paper(c.k());
                case 1 -> SelectionPolicy.TopK.of(c.k());
                case 2 -> new SelectionPolicy.TopK(c.k(), true, 2);
                default -> SelectionPolicy.MassTarget.of(0.05 + (c.seed() & 7) * 0.05, c.k());
            };
            // A mass target needs masses: its scores are the reference's MASS scores whatever mode the oracle ran in.
            BlockScores scores = policy instanceof SelectionPolicy.MassTarget ? REF.oracle(oracle.withScores(ScoreMode.MASS)).scores()
                    : want.scores();
            SelectionRequest sr = new SelectionRequest(scores, policy);
            BlockSelection sel = REF.select(sr), cpuSel = CPU.select(sr);
            for (int i = 0; i < sel.blocks().length; i++) {
                if (!Arrays.equals(sel.blocks()[i], cpuSel.blocks()[i])) {
                    throw new AssertionError(c + " " + policy + ": selection list " + i + " cpu " + Arrays.toString(cpuSel.blocks()[i])
                            + " vs reference " + Arrays.toString(sel.blocks()[i]));
                }
            }

            int gateLen = c.rows() * hq * (c.perChannel() ? c.dim() : 1);
            SparseRequest sparse = SparseRequest.of(q, cache.view(), sel, swa, c.window(), uniform(rnd, gateLen), uniform(rnd, gateLen))
                    .withSinks(c.sinks() ? sinks(rnd, hq, c.k() * c.block()) : null, c.sinks() && swa != null ? sinks(rnd, hq, c.window()) : null);
            rows(c + " sparse out", CPU.sparse(sparse), REF.sparse(sparse), c.dim(), outTol);

            DroppedMassRequest dm = DroppedMassRequest.of(q, cache, sel).withSink(sinkOracle);
            DroppedMass a = CPU.droppedMass(dm), b = REF.droppedMass(dm);
            if (!(Math.abs(a.max() - b.max()) <= sTol && Math.abs(a.mean() - b.mean()) <= sTol)) {
                throw new AssertionError(c + " dropped mass: cpu " + a + " vs reference " + b);
            }
        }
    }

    @AfterContainer
    static void closeBackend() {
        CPU.close();
    }

    /** Relative L2 error per head vector; written as !(err <= tol) so that NaN fails. */
    private static void rows(String what, float[] got, float[] want, int dim, double tol) {
        for (int v = 0; v < want.length / dim; v++) {
            double err = 0, norm = 0;
            for (int d = 0; d < dim; d++) {
                double diff = (double) got[v * dim + d] - want[v * dim + d];
                err += diff * diff;
                norm += (double) want[v * dim + d] * want[v * dim + d];
            }
            double rel = Math.sqrt(err) / Math.max(Math.sqrt(norm), Float.MIN_NORMAL);
            if (!(rel <= tol)) throw new AssertionError(what + ": head vector " + v + " relative L2 error " + rel + " > " + tol);
        }
    }

    private static void close(String what, float[] got, float[] want, double tol) {
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= tol)) {
                throw new AssertionError(what + ": flat index " + i + " cpu " + got[i] + " vs reference " + want[i]);
            }
        }
    }
}
