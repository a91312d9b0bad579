package org.hysparse.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.hysparse.api.*;

/**
 * Runs a {@link RunConfig} on one backend: fills each full layer's cache with the context, runs a
 * prefill tail through every layer, then decode steps that append a token to every cache. Sparse layers
 * attend through views of their full layer's cache and their own window rings.
 */
final class HySparseRun implements AutoCloseable {
    interface Progress {
        void step(String phase, int done, int total);
    }

    private final RunConfig c;
    private final AttentionBackend backend;
    private final SyntheticModel model;
    private final SplittableRandom rnd;
    private final List<KvCache> caches = new ArrayList<>();
    private final List<SwaCache> windows = new ArrayList<>();
    private final int[] owner; // layer -> index of its full layer among full layers
    private final int[] fullIndex; // layer -> index among full layers, or -1
    private final BlockGeometry geometry;
    /** Learned parameters of each sparse layer: sink logits of its selected and window branches, {@code [Hq]}. */
    private final List<float[]> sinkSel = new ArrayList<>(), sinkSwa = new ArrayList<>();
    /** Side by side (MAX, MASS): needle hits and trials, and at the last step each mode's selection per full layer. */
    private final int[][] modeNeedles = new int[ScoreMode.values().length][2];
    private final BlockSelection[][] modeSelections;
    private final java.util.Map<ScoreMode, List<DroppedMass>> modeFull = new java.util.EnumMap<>(ScoreMode.class);
    private final java.util.Map<ScoreMode, List<RunReport.SparseLayer>> modeSparse = new java.util.EnumMap<>(ScoreMode.class);
    /** Last decode step's outputs per layer, for cross-backend comparison. */
    final List<float[]> lastOutputs = new ArrayList<>();

    HySparseRun(RunConfig c, AttentionBackend backend) {
        this.c = c;
        this.backend = backend;
        this.model = new SyntheticModel(c);
        this.rnd = new SplittableRandom(c.seed() + 1);
        this.geometry = BlockGeometry.of(c.block());
        owner = new int[c.layers()];
        fullIndex = new int[c.layers()];
        int f = -1;
        for (int l = 0; l < c.layers(); l++) {
            if (c.pattern().charAt(l) == 'F') {
                f++;
                fullIndex[l] = f;
                caches.add(new KvCache(c.hkv(), c.dim(), c.block(), c.kv()));
            } else {
                fullIndex[l] = -1;
                windows.add(c.window() > 0 ? new SwaCache(c.hkv(), c.dim(), c.prefillWindowCapacity(), c.kv()) : null);
                sinkSel.add(SyntheticModel.sinks(c.hq(), c.topk() * c.block(), rnd));
                sinkSwa.add(SyntheticModel.sinks(c.hq(), Math.max(1, c.window()), rnd));
            }
            owner[l] = f;
        }
        modeSelections = new BlockSelection[ScoreMode.values().length][f + 1];
    }

    RunReport run(Progress progress) {
        fillContext(progress);
        int prefillTokens = c.prefillRows();
        double[] prefill = prefillTokens > 0 ? step(prefillTokens, -1, false) : new double[2];
        for (SwaCache w : windows) if (w != null) w.shrink(Math.max(1, c.window()));
        // The first decode pass is timed on its own: it carries one-time costs that later passes do not (a device
        // backend compiles its decode-sized kernels there), so the decode average covers the passes after it.
        int firstPasses = c.decode() > 1 ? 1 : 0;
        double[] first = new double[2], decode = new double[2];
        int hits = 0, trials = 0;
        for (int s = 0; s < c.decode(); s++) {
            appendToken();
            double[] t = step(1, s, s == c.decode() - 1);
            double[] into = s < firstPasses ? first : decode;
            into[0] += t[0];
            into[1] += t[1];
            hits += (int) t[2];
            trials += (int) t[3];
            progress.step("decode", s + 1, c.decode());
        }
        return report(prefillTokens, prefill, firstPasses, first, decode, hits, trials);
    }

    private void fillContext(Progress progress) {
        int chunk = 2048, n = c.hkv() * c.dim();
        float[] k = new float[chunk * n], v = new float[chunk * n];
        for (int t = 0; t < c.context(); t += chunk) {
            int m = Math.min(chunk, c.context() - t);
            append(t, m, m == chunk ? k : new float[m * n], m == chunk ? v : new float[m * n]);
            progress.step("context", Math.min(t + chunk, c.context()), c.context());
        }
    }

    private void appendToken() {
        int n = c.hkv() * c.dim();
        append(caches.get(0).length(), 1, new float[n], new float[n]);
    }

    /** Positions {@code from .. from+m-1}: every full layer's cache, then every sparse layer's window. */
    private void append(int from, int m, float[] k, float[] v) {
        for (int f = 0; f < caches.size(); f++) {
            model.keysValues(f, from, m, rnd, k, v);
            caches.get(f).append(k, v, m);
        }
        for (SwaCache w : windows) {
            if (w == null) continue;
            model.keysValues(-1, from, m, rnd, k, v);
            w.append(k, v, m);
        }
    }

    /**
     * One pass of {@code rows} query rows through every layer. Returns {full ms, sparse ms, needle hits,
     * needle trials}. With {@code measure}, also keeps each layer's output for the report.
     */
    private double[] step(int rows, int decodeStep, boolean measure) {
        int tokens = caches.get(0).length();
        double fullMs = 0, sparseMs = 0;
        int hits = 0, trials = 0;
        BlockSelection sel = null;
        Queries fullQ = null;
        int sparseIdx = 0;
        if (measure) lastOutputs.clear();
        for (int l = 0; l < c.layers(); l++) {
            int f = owner[l];
            KvCache cache = caches.get(f);
            if (fullIndex[l] >= 0) {
                fullQ = Queries.last(model.queries(f, rows, tokens - 1, Math.max(decodeStep, 0), rnd), rows, c.hq(), c.dim(), tokens);
                OracleRequest req = OracleRequest.of(fullQ, cache, geometry).withScores(c.scores());
                long t0 = System.nanoTime();
                // One call: a device backend ranks the blocks where it computed S (the SPI's default composes the two).
                OracleOutput out = OracleOutput.allocate(req);
                sel = backend.oracleAndSelect(req, out, c.policy());
                fullMs += (System.nanoTime() - t0) / 1e6;
                if (decodeStep >= 0) compareModes(f, req, out, decodeStep, measure);
                if (decodeStep >= 0) {
                    for (int h = 0; h < c.hkv(); h++) {
                        trials++;
                        if (java.util.Arrays.binarySearch(sel.blocks(h, 0), model.targetBlock(f, h, decodeStep)) >= 0) hits++;
                    }
                }
                if (measure) {
                    lastOutputs.add(out.out());
                    DroppedMass dm = backend.droppedMass(DroppedMassRequest.of(fullQ, cache, sel));
                    fullMeasured.add(new RunReport.FullLayer(l, dm.max(), dm.mean()));
                }
            } else {
                SwaCache w = windows.get(sparseIdx++);
                Queries q = new Queries(SyntheticModel.perturb(fullQ.data(), rnd), rows, c.hq(), c.dim(), fullQ.positions());
                int gate = rows * c.hq() * c.dim(); // per channel, the paper's elementwise gates
                SparseRequest req = SparseRequest.of(q, cache.view(), sel, w, w == null ? 0 : c.window(),
                        SyntheticModel.gates(gate, rnd), SyntheticModel.gates(gate, rnd))
                        .withSinks(sinkSel.get(sparseIdx - 1), sinkSwa.get(sparseIdx - 1));
                long t0 = System.nanoTime();
                float[] out = backend.sparse(req);
                sparseMs += (System.nanoTime() - t0) / 1e6;
                if (measure) {
                    lastOutputs.add(out);
                    measured.add(measureSparse(l, f, q, cache, sel));
                    for (ScoreMode m : ScoreMode.values()) {
                        modeSparse.computeIfAbsent(m, x -> new ArrayList<>()).add(measureSparse(l, f, q, cache, modeSelections[m.ordinal()][f]));
                    }
                }
            }
        }
        return new double[] {fullMs, sparseMs, hits, trials};
    }

    /**
     * Both score modes at the same k on the same rows (untimed): needle hits per mode, and at the measured step
     * each mode's selection and the full layer's dropped mass under it. The run's own mode reuses its scores.
     */
    private void compareModes(int f, OracleRequest req, OracleOutput out, int decodeStep, boolean measure) {
        for (ScoreMode m : ScoreMode.values()) {
            BlockScores s = m == c.scores() ? out.scores() : backend.oracle(req.withScores(m)).scores();
            BlockSelection ms = backend.select(new SelectionRequest(s, c.topK(c.topk())));
            int[] counts = modeNeedles[m.ordinal()];
            for (int h = 0; h < c.hkv(); h++) {
                counts[1]++;
                if (java.util.Arrays.binarySearch(ms.blocks(h, 0), model.targetBlock(f, h, decodeStep)) >= 0) counts[0]++;
            }
            if (measure) {
                modeSelections[m.ordinal()][f] = ms;
                modeFull.computeIfAbsent(m, x -> new ArrayList<>()).add(backend.droppedMass(DroppedMassRequest.of(req.queries(), req.kv(), ms)));
            }
        }
    }

    private List<RunReport.ModeQuality> modeQualities() {
        List<RunReport.ModeQuality> out = new ArrayList<>();
        for (ScoreMode m : ScoreMode.values()) {
            int[] n = modeNeedles[m.ordinal()];
            List<DroppedMass> full = modeFull.getOrDefault(m, List.of());
            List<RunReport.SparseLayer> sparse = modeSparse.getOrDefault(m, List.of());
            out.add(new RunReport.ModeQuality(m, n[1] == 0 ? Double.NaN : (double) n[0] / n[1], n[1],
                    full.stream().mapToDouble(DroppedMass::max).max().orElse(Double.NaN),
                    full.stream().mapToDouble(DroppedMass::mean).average().orElse(Double.NaN),
                    sparse.stream().mapToDouble(RunReport.SparseLayer::droppedMax).max().orElse(Double.NaN),
                    sparse.stream().mapToDouble(RunReport.SparseLayer::droppedMean).average().orElse(Double.NaN),
                    sparse.stream().mapToDouble(RunReport.SparseLayer::relErrorMean).average().orElse(Double.NaN),
                    sparse.stream().mapToDouble(RunReport.SparseLayer::relErrorMax).max().orElse(Double.NaN)));
        }
        return out;
    }

    private final List<RunReport.SparseLayer> measured = new ArrayList<>();
    private final List<RunReport.FullLayer> fullMeasured = new ArrayList<>();

    /** Dropped mass of the sparse layer's own attention, and its selected branch vs dense attention. */
    private RunReport.SparseLayer measureSparse(int layer, int f, Queries q, KvCache cache, BlockSelection sel) {
        DroppedMass dm = backend.droppedMass(DroppedMassRequest.of(q, cache, sel));
        float[] dense = backend.oracle(OracleRequest.of(q, cache, geometry)).out();
        float[] ones = new float[q.rows() * q.heads()];
        java.util.Arrays.fill(ones, 1f);
        float[] selOnly = backend.sparse(SparseRequest.of(q, cache.view(), sel, null, 0, ones, new float[ones.length]));
        double sum = 0, max = 0;
        int vectors = q.rows() * q.heads();
        for (int x = 0; x < vectors; x++) {
            double err = 0, norm = 0;
            for (int d = 0; d < q.headDim(); d++) {
                double diff = selOnly[x * q.headDim() + d] - dense[x * q.headDim() + d];
                err += diff * diff;
                norm += (double) dense[x * q.headDim() + d] * dense[x * q.headDim() + d];
            }
            double rel = Math.sqrt(err / Math.max(norm, 1e-30));
            sum += rel;
            max = Math.max(max, rel);
        }
        int blocks = 0;
        for (int[] b : sel.blocks()) blocks += b.length;
        return new RunReport.SparseLayer(layer, layerOfFull(f), dm.max(), dm.mean(), sum / vectors, max, blocks / sel.blocks().length);
    }

    private int layerOfFull(int f) {
        for (int l = 0; l < c.layers(); l++) if (fullIndex[l] == f) return l;
        throw new IllegalStateException("no full layer " + f);
    }

    private RunReport report(int prefillTokens, double[] prefill, int firstPasses, double[] first, double[] decode, int hits, int trials) {
        int tokens = caches.get(0).length();
        int full = c.fullLayers(), sparse = c.layers() - full, steady = c.decode() - firstPasses;
        KvBudget budget = new KvBudget(c.layers(), full, tokens, c.window(), c.hkv(), c.dim(), c.kv());
        long measuredBytes = 0;
        for (KvCache k : caches) measuredBytes += k.bytes();
        for (SwaCache w : windows) if (w != null) measuredBytes += w.bytes();
        return new RunReport(backend.name(), "", c, tokens,
                phase(prefillTokens, prefillTokens > 0 ? 1 : 0, prefill, full, sparse),
                phase(firstPasses, firstPasses, first, full, sparse), phase(steady, steady, decode, full, sparse),
                new RunReport.Kv(budget.hySparseBytes(), budget.fullAttentionBytes(), budget.hybridSwaBytes(), measuredBytes,
                        budget.reductionVsFullAttention(),
                        new KvBudget(c.layers(), full, 1L << 36, c.window(), c.hkv(), c.dim(), c.kv()).reductionVsFullAttention()),
                List.copyOf(measured), List.copyOf(fullMeasured), trials == 0 ? Double.NaN : (double) hits / trials, trials,
                modeQualities());
    }

    /** {@code ms} holds total full-layer and sparse-layer milliseconds over {@code passes} passes of {@code tokens} tokens. */
    private static RunReport.Phase phase(int tokens, int passes, double[] ms, int full, int sparse) {
        double model = ms[0] + ms[1];
        int p = Math.max(1, passes);
        return new RunReport.Phase(tokens, ms[0] / full / p, sparse == 0 ? 0 : ms[1] / sparse / p, model,
                model > 0 ? tokens / (model / 1e3) : 0);
    }

    @Override
    public void close() {
        caches.forEach(KvCache::close);
        windows.forEach(w -> { if (w != null) w.close(); });
    }
}
