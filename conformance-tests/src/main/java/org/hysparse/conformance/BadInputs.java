package org.hysparse.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hysparse.api.*;

/** SPEC "Errors": one bad call per case, each expected to name {@code argument}. */
final class BadInputs {
    private static final float SENTINEL = 12345.678f;

    private interface Call {
        void run(float[] out, OracleOutput oracleOut);
    }

    private record Bad(String argument, String what, Call call) {
    }

    private final ConformanceSuite suite;
    private final AttentionBackend b;

    BadInputs(ConformanceSuite suite, AttentionBackend b) {
        this.suite = suite;
        this.b = b;
    }

    private List<Bad> cases(Workload w) {
        Case c = w.c;
        Random rnd = new Random(suite.seed() ^ 0xBAD);
        Queries q = w.queries;
        OracleRequest good = ConformanceSuite.oracleRequest(w);
        BlockScores s = suite.refOracle(w).scores();
        BlockSelection sel = suite.reference().select(new SelectionRequest(s, SelectionPolicy.TopK.of(c.k())));
        int[][] outOfRange = Arrays.stream(sel.blocks()).map(int[]::clone).toArray(int[][]::new);
        outOfRange[0][outOfRange[0].length - 1] = c.kvBlocks() + 3;
        int[][] descending = Arrays.stream(sel.blocks()).map(int[]::clone).toArray(int[][]::new);
        descending[0] = new int[] {1, 0};
        float[] nanQ = q.data().clone();
        nanQ[nanQ.length / 2] = Float.NaN;
        float[] infQ = q.data().clone();
        infQ[3] = Float.NEGATIVE_INFINITY;
        float[] nanGate = w.gateSel.clone();
        nanGate[1] = Float.NaN;
        float[] bigGate = w.gateSwa.clone();
        bigGate[0] = 1.5f;
        float[] nanScores = s.data().clone();
        nanScores[2] = Float.NaN;
        KvCacheView view = w.cache.view();
        int win = c.window();
        List<Bad> bad = new ArrayList<>();
        bad.add(new Bad("heads", "Hq not a multiple of Hkv", (o, oo) -> b.oracle(OracleRequest.of(
                new Queries(Workload.gaussian(rnd, q.rows() * 3 * c.dim(), 1f), q.rows(), 3, c.dim(), q.positions()), w.cache, c.geometry()), oo)));
        bad.add(new Bad("q", "head dim differs from the cache's", (o, oo) -> b.oracle(OracleRequest.of(
                new Queries(new float[q.rows() * c.hq() * 8], q.rows(), c.hq(), 8, q.positions()), w.cache, c.geometry()), oo)));
        bad.add(new Bad("q", "NaN in queries (oracle)", (o, oo) -> b.oracle(OracleRequest.of(
                new Queries(nanQ, q.rows(), c.hq(), c.dim(), q.positions()), w.cache, c.geometry()), oo)));
        bad.add(new Bad("positions", "position >= T", (o, oo) -> b.oracle(OracleRequest.of(
                Queries.last(q.data(), q.rows(), c.hq(), c.dim(), c.tokens() + 1), w.cache, c.geometry()), oo)));
        bad.add(new Bad("blockSize", "block size differs from the cache's", (o, oo) -> b.oracle(OracleRequest.of(
                q, w.cache, BlockGeometry.of(c.block() * 2)), oo)));
        bad.add(new Bad("scale", "NaN scale", (o, oo) -> b.oracle(new OracleRequest(q, w.cache, c.geometry(), Float.NaN), oo)));
        bad.add(new Bad("out", "output buffer of the wrong size", (o, oo) -> b.oracle(good, new OracleOutput(new float[5], oo.scores()))));
        bad.add(new Bad("scores", "score buffer of the wrong shape", (o, oo) -> b.oracle(good, new OracleOutput(oo.out(),
                BlockScores.allocate(ScoreMode.MAX, c.geometry(), good.queryBlocks(), c.hkv(), c.kvBlocks() + 1)))));
        bad.add(new Bad("scores", "MASS score buffer for a MAX request", (o, oo) -> b.oracle(good, new OracleOutput(oo.out(),
                BlockScores.allocate(ScoreMode.MASS, c.geometry(), good.queryBlocks(), c.hkv(), c.kvBlocks())))));
        bad.add(new Bad("scores", "NaN in scores given to select", (o, oo) -> b.select(new SelectionRequest(
                new BlockScores(s.mode(), s.geometry(), s.queryBlocks(), s.kvHeads(), s.kvBlocks(), nanScores), SelectionPolicy.TopK.of(2)))));
        bad.add(new Bad("scores", "mass-targeted selection over MAX scores", (o, oo) -> b.select(new SelectionRequest(
                s, SelectionPolicy.MassTarget.of(0.1, c.kvBlocks())))));
        float[] nanSink = w.sinkOracle.clone();
        nanSink[nanSink.length - 1] = Float.NaN;
        float[] infSink = w.sinkSwa.clone();
        infSink[0] = Float.NEGATIVE_INFINITY;
        bad.add(new Bad("sink", "NaN oracle sink logit", (o, oo) -> b.oracle(good.withSink(nanSink), oo)));
        bad.add(new Bad("sink", "oracle sink logits of the wrong length", (o, oo) -> b.oracle(good.withSink(new float[c.hq() + 1]), oo)));
        bad.add(new Bad("sinkSel", "selected-branch sinks of the wrong length", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, w.swa, win,
                w.gateSel, w.gateSwa).withSinks(new float[Math.max(1, c.hq() - 1)], null), o)));
        bad.add(new Bad("sinkSwa", "-infinity window sink logit", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, w.swa, win,
                w.gateSel, w.gateSwa).withSinks(w.sinkSel, infSink), o)));
        bad.add(new Bad("gateSel", "gate neither [Lq][Hq] nor [Lq][Hq][D]", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, w.swa, win,
                new float[w.channelGateSel.length - 1], w.gateSwa), o)));
        float[] bigChannelGate = w.channelGateSwa.clone();
        bigChannelGate[bigChannelGate.length - 1] = 2f;
        bad.add(new Bad("gateSwa", "per-channel gate above 1", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, w.swa, win,
                w.channelGateSel, bigChannelGate), o)));
        bad.add(new Bad("sink", "dropped mass with a NaN sink", (o, oo) -> b.droppedMass(DroppedMassRequest.of(q, w.cache, sel).withSink(nanSink))));
        bad.add(new Bad("selection", "block index out of range", (o, oo) -> b.sparse(SparseRequest.of(q, view,
                new BlockSelection(sel.geometry(), sel.queryBlocks(), sel.kvHeads(), outOfRange), w.swa, win, w.gateSel, w.gateSwa), o)));
        bad.add(new Bad("selection", "block indices not ascending", (o, oo) -> b.sparse(SparseRequest.of(q, view,
                new BlockSelection(sel.geometry(), sel.queryBlocks(), sel.kvHeads(), descending), w.swa, win, w.gateSel, w.gateSwa), o)));
        bad.add(new Bad("q", "infinite query (sparse)", (o, oo) -> b.sparse(SparseRequest.of(
                new Queries(infQ, q.rows(), c.hq(), c.dim(), q.positions()), view, sel, w.swa, win, w.gateSel, w.gateSwa), o)));
        bad.add(new Bad("gateSel", "NaN gate", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, w.swa, win, nanGate, w.gateSwa), o)));
        bad.add(new Bad("gateSwa", "gate above 1", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, w.swa, win, w.gateSel, bigGate), o)));
        bad.add(new Bad("swa", "window > 0 without a window cache", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, null, win, w.gateSel, w.gateSwa), o)));
        bad.add(new Bad("window", "negative window", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, w.swa, -1, w.gateSel, w.gateSwa), o)));
        bad.add(new Bad("out", "sparse output of the wrong size", (o, oo) -> b.sparse(SparseRequest.of(q, view, sel, w.swa, win, w.gateSel, w.gateSwa), new float[7])));
        bad.add(new Bad("selection", "dropped mass of an out-of-range selection", (o, oo) -> b.droppedMass(DroppedMassRequest.of(q, w.cache,
                new BlockSelection(sel.geometry(), sel.queryBlocks(), sel.kvHeads(), outOfRange)))));
        bad.add(new Bad("requests[1].kv", "a batch mixing two pools' sequences", (o, oo) -> {
            try (KvPool foreign = new KvPool(c.hkv(), c.dim(), c.block(), w.precision)) {
                KvCache stranger = foreign.newSequence();
                stranger.append(Workload.gaussian(rnd, c.tokens() * c.hkv() * c.dim(), 1f), Workload.gaussian(rnd, c.tokens() * c.hkv() * c.dim(), 1f), c.tokens());
                b.oracle(OracleBatch.of(good, OracleRequest.of(q, stranger, c.geometry())), List.of(oo, OracleOutput.allocate(good)));
            }
        }));
        bad.add(new Bad("outputs[1]", "a batch whose two requests write one buffer", (o, oo) ->
                b.oracle(OracleBatch.of(good, good), List.of(oo, oo))));
        bad.add(new Bad("requests[1].q", "a batch with a NaN query in its second request", (o, oo) -> b.oracle(OracleBatch.of(good,
                OracleRequest.of(new Queries(nanQ, q.rows(), c.hq(), c.dim(), q.positions()), w.cache, c.geometry())),
                List.of(oo, OracleOutput.allocate(good)))));
        bad.add(new Bad("outputs", "a sparse batch with one output for two requests", (o, oo) -> {
            SparseRequest sr = SparseRequest.of(q, view, sel, w.swa, win, w.gateSel, w.gateSwa);
            b.sparse(SparseBatch.of(sr, sr), List.of(o));
        }));
        return bad;
    }

    private Workload workload() {
        return new Workload(suite.find("partial-last-block"), suite.precision());
    }

    void checkRejected() {
        try (Workload w = workload()) {
            for (Bad bad : cases(w)) {
                String where = suite.ctx(w) + " " + bad.what();
                try {
                    bad.call().run(sentinelOut(w), sentinelOracle(w));
                    throw new RuleFailure(Rule.ERR_1, where + ": accepted, expected IllegalArgumentException naming '" + bad.argument() + "'");
                } catch (IllegalArgumentException e) {
                    String m = String.valueOf(e.getMessage());
                    if (!m.startsWith(bad.argument()) || !m.contains("expected")) {
                        throw new RuleFailure(Rule.ERR_1, where + ": message \"" + m + "\" should start with '" + bad.argument()
                                + "' and say what was expected");
                    }
                }
            }
        }
    }

    void checkUntouched() {
        try (Workload w = workload()) {
            for (Bad bad : cases(w)) {
                String where = suite.ctx(w) + " " + bad.what();
                Snapshot before = Snapshot.of(w);
                float[] out = sentinelOut(w);
                OracleOutput oo = sentinelOracle(w);
                try {
                    bad.call().run(out, oo);
                } catch (RuntimeException expected) {
                    // ERR-1 judges the exception; this rule judges what was left behind.
                }
                for (float[] buffer : List.of(out, oo.out(), oo.scores().data())) {
                    for (int i = 0; i < buffer.length; i++) {
                        if (Float.floatToRawIntBits(buffer[i]) != Float.floatToRawIntBits(SENTINEL)) {
                            throw new RuleFailure(Rule.ERR_2, where + ": output element " + i + " became " + buffer[i]);
                        }
                    }
                }
                before.assertSame(Rule.ERR_2, where, Snapshot.of(w));
            }
        }
    }

    private static float[] sentinelOut(Workload w) {
        float[] out = new float[w.queries.data().length];
        Arrays.fill(out, SENTINEL);
        return out;
    }

    private static OracleOutput sentinelOracle(Workload w) {
        OracleOutput o = OracleOutput.allocate(ConformanceSuite.oracleRequest(w));
        Arrays.fill(o.out(), SENTINEL);
        Arrays.fill(o.scores().data(), SENTINEL);
        return o;
    }
}
