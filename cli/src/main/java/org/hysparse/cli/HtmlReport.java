package org.hysparse.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import org.hysparse.api.*;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * {@code --report DIR}: an HTML page with the run's numbers and three charts: KV memory vs context for
 * the three architectures (SPEC 4), measured decode latency vs context for a dense and a sparse layer,
 * and dropped mass and fidelity vs k. Charts are PNGs embedded in the page, so it is one file.
 */
final class HtmlReport {
    private HtmlReport() {
    }

    static Path write(Path dir, RunReport r, AttentionBackend backend, PrintWriter log) throws IOException {
        return write(dir, r, backend, log, "");
    }

    /** With {@code preface}, a block of text (e.g. the bench table) shown first. */
    static Path write(Path dir, RunReport r, AttentionBackend backend, PrintWriter log, String preface) throws IOException {
        Files.createDirectories(dir);
        RunConfig c = r.config();
        log.println("report: measuring latency vs context and quality vs k ...");
        log.flush();
        StringBuilder html = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>hysparse run report</title>")
                .append("<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}pre{background:#f5f5f5;padding:1em;overflow-x:auto}")
                .append("img{max-width:100%;border:1px solid #ddd;margin:.5em 0}</style></head><body>")
                .append("<h1>hysparse run report</h1>")
                .append("<p>Backend <b>").append(esc(r.backend())).append("</b> on ").append(esc(r.device())).append("</p>");
        if (!preface.isEmpty()) html.append("<h2>Backends side by side</h2><pre>").append(esc(preface)).append("</pre>");
        html.append("<h2>KV memory vs context length</h2>").append(img(kvChart(c)));
        html.append("<h2>Decode latency vs context: dense (oracle) vs sparse layer</h2>").append(img(latencyChart(c, backend)));
        html.append("<h2>Dropped mass and fidelity vs k</h2>").append(img(qualityChart(c, backend)));
        html.append("<h2>Run report</h2><pre>").append(esc(ReportFormat.text(r))).append("</pre></body></html>\n");
        Path page = dir.resolve("index.html");
        Files.writeString(page, html);
        return page;
    }

    private static XYChart chart(String title, String x, String y) {
        XYChart chart = new XYChartBuilder().width(900).height(420).title(title).xAxisTitle(x).yAxisTitle(y).build();
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        chart.getStyler().setDecimalPattern("#,##0.###");
        return chart;
    }

    static XYChart kvChart(RunConfig c) {
        XYChart chart = chart("KV bytes of " + c.layers() + " layers (" + c.fullLayers() + " full), " + c.kv().shortName(), "context length T (tokens)", "GiB");
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        List<Double> t = new ArrayList<>(), hs = new ArrayList<>(), full = new ArrayList<>(), swa = new ArrayList<>();
        for (long tokens = 1024; tokens <= (1L << 20); tokens *= 2) {
            KvBudget b = new KvBudget(c.layers(), c.fullLayers(), tokens, c.window(), c.hkv(), c.dim(), c.kv());
            t.add((double) tokens);
            hs.add(b.hySparseBytes() / (double) (1L << 30));
            full.add(b.fullAttentionBytes() / (double) (1L << 30));
            swa.add(b.hybridSwaBytes() / (double) (1L << 30));
        }
        chart.addSeries("full attention", t, full);
        chart.addSeries("hybrid SWA (same F): equal to HySparse", t, swa).setMarker(SeriesMarkers.DIAMOND);
        chart.addSeries("HySparse", t, hs).setMarker(SeriesMarkers.CIRCLE);
        return chart;
    }

    /** Measured here and now: mean of five calls per point, after two warm-up calls. */
    private static XYChart latencyChart(RunConfig c, AttentionBackend b) {
        XYChart chart = chart("One decode step, one layer (Hq/Hkv " + c.hq() + "/" + c.hkv() + ", D " + c.dim() + ", top-k " + c.topk()
                + ", W " + c.window() + ")", "context length T (tokens)", "ms");
        List<Double> t = new ArrayList<>(), dense = new ArrayList<>(), sparse = new ArrayList<>();
        SyntheticModel model = new SyntheticModel(c);
        // Doubling from 1024 (or the whole context when shorter), always ending at the context itself.
        List<Integer> sizes = new ArrayList<>();
        for (int tokens = Math.min(Math.max(4 * c.block(), 1024), c.context()); tokens < c.context(); tokens *= 2) sizes.add(tokens);
        sizes.add(c.context());
        for (int tokens : sizes) {
            try (Layer layer = new Layer(c, model, tokens)) {
                OracleRequest req = OracleRequest.of(layer.q, layer.cache, BlockGeometry.of(c.block())).withScores(c.scores());
                OracleOutput out = b.oracle(req);
                BlockSelection sel = b.select(new SelectionRequest(out.scores(), c.topK(c.topk())));
                SparseRequest sr = SparseRequest.of(layer.q, layer.cache.view(), sel, layer.swa, layer.swa == null ? 0 : c.window(), layer.gates, layer.gates);
                t.add((double) tokens);
                dense.add(time(() -> b.oracle(req, out)));
                sparse.add(time(() -> b.sparse(sr)));
            }
        }
        chart.addSeries("dense (oracle) layer", t, dense);
        chart.addSeries("sparse layer", t, sparse);
        return chart;
    }

    private static XYChart qualityChart(RunConfig c, AttentionBackend b) {
        XYChart chart = chart("At T = " + c.context() + ": the sparse layer's selected blocks vs dense attention (values below 1e-6 drawn at 1e-6)",
                "k (blocks selected)", "");
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setYAxisDecimalPattern("0.#E0");
        List<Double> ks = new ArrayList<>(), dmax = new ArrayList<>(), dmean = new ArrayList<>(), err = new ArrayList<>();
        SyntheticModel model = new SyntheticModel(c);
        try (Layer layer = new Layer(c, model, c.context())) {
            BlockGeometry g = BlockGeometry.of(c.block());
            BlockScores s = b.oracle(OracleRequest.of(layer.full, layer.cache, g).withScores(c.scores())).scores();
            float[] dense = b.oracle(OracleRequest.of(layer.q, layer.cache, g)).out();
            float[] ones = new float[c.hq()];
            java.util.Arrays.fill(ones, 1f);
            for (int k = 1; k <= Math.min(256, c.context() / c.block()); k *= 2) {
                BlockSelection sel = b.select(new SelectionRequest(s, c.topK(k)));
                DroppedMass dm = b.droppedMass(DroppedMassRequest.of(layer.q, layer.cache, sel));
                float[] o = b.sparse(SparseRequest.of(layer.q, layer.cache.view(), sel, null, 0, ones, new float[c.hq()]));
                double e = 0, n = 0;
                for (int i = 0; i < o.length; i++) { e += (double) (o[i] - dense[i]) * (o[i] - dense[i]); n += (double) dense[i] * dense[i]; }
                ks.add((double) k);
                // A log axis cannot show 0 (all visible blocks selected): floor at 1e-6, as the title says.
                dmax.add(Math.max(1e-6, dm.max()));
                dmean.add(Math.max(1e-6, dm.mean()));
                err.add(Math.max(1e-6, Math.sqrt(e / n)));
            }
        }
        chart.addSeries("dropped mass, max over heads", ks, dmax);
        chart.addSeries("dropped mass, mean", ks, dmean);
        chart.addSeries("relative L2 error vs dense", ks, err);
        return chart;
    }

    /** One full layer's cache of {@code tokens} plus a sparse layer's queries and window, from the model. */
    private static final class Layer implements AutoCloseable {
        final KvCache cache;
        final SwaCache swa;
        final Queries full, q;
        final float[] gates;

        Layer(RunConfig c, SyntheticModel model, int tokens) {
            SplittableRandom rnd = new SplittableRandom(c.seed() + tokens);
            cache = new KvCache(c.hkv(), c.dim(), c.block(), c.kv());
            int chunk = 2048, n = c.hkv() * c.dim();
            swa = c.window() > 0 ? new SwaCache(c.hkv(), c.dim(), c.window(), c.kv()) : null;
            for (int t = 0; t < tokens; t += chunk) {
                int m = Math.min(chunk, tokens - t);
                float[] k = new float[m * n], v = new float[m * n];
                model.keysValues(0, t, m, rnd, k, v);
                cache.append(k, v, m);
                if (swa != null) {
                    model.keysValues(-1, t, m, rnd, k, v);
                    swa.append(k, v, m); // the ring keeps the last W by itself
                }
            }
            full = Queries.last(model.queries(0, 1, tokens - 1, 0, rnd), 1, c.hq(), c.dim(), tokens);
            q = new Queries(SyntheticModel.perturb(full.data(), rnd), 1, c.hq(), c.dim(), full.positions());
            gates = SyntheticModel.gates(c.hq(), rnd);
        }

        @Override
        public void close() {
            cache.close();
            if (swa != null) swa.close();
        }
    }

    private static double time(Runnable r) {
        r.run();
        r.run();
        long t0 = System.nanoTime();
        for (int i = 0; i < 5; i++) r.run();
        return (System.nanoTime() - t0) / 5e6;
    }

    private static String img(XYChart chart) throws IOException {
        byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        return "<img alt=\"" + esc(chart.getTitle()) + "\" src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(png) + "\">";
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

}
