package org.hysparse.cli;

import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/** The run report as text for people and JSON for programs; both carry the same numbers. */
final class ReportFormat {
    private ReportFormat() {
    }

    static String bytes(long b) {
        if (b >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
        if (b >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
    }

    static String fullLayers(RunConfig c) {
        return IntStream.range(0, c.layers()).filter(i -> c.pattern().charAt(i) == 'F').mapToObj(Integer::toString)
                .collect(Collectors.joining(", "));
    }

    static String text(RunReport r) {
        RunConfig c = r.config();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "hysparse run on backend '%s' (%s)%n", r.backend(), r.device()));
        sb.append(String.format(Locale.ROOT, "layout%s: %d layers, %d full (at %s), %d sparse; Hq/Hkv %d/%d, D %d, B %d, %s, W %d, KV %s%n",
                c.preset().isEmpty() ? "" : " " + c.preset(), c.layers(), c.fullLayers(), fullLayers(c), c.layers() - c.fullLayers(),
                c.hq(), c.hkv(), c.dim(), c.block(),
                c.delta() == null ? "top-k " + c.topk() : "delta " + c.delta() + " (kMax " + c.topk() + ")", c.window(), c.kv().shortName()));
        sb.append(String.format(Locale.ROOT, "operator: %s block scores, %s, sink logits in both sparse branches, per-channel gates%n",
                c.scores(), c.v1Policy() ? "sink and one local block forced (v1)" : "no forced blocks (the paper's)"));
        sb.append(String.format(Locale.ROOT, "context %d + %d decode steps = %d tokens%n%n", c.context(), c.decode(), r.finalTokens()));
        sb.append(String.format(Locale.ROOT, "%-34s %14s %14s %14s%n", "time per layer and pass", "full layer", "sparse layer", "model tokens/s"));
        phase(sb, "prefill tail (" + r.prefill().tokens() + " tokens, 1 pass)", r.prefill());
        phase(sb, "decode, first pass (1 token)", r.firstDecode());
        phase(sb, r.firstDecode().tokens() > 0 ? "decode, next " + r.decode().tokens() + " passes (1 token)" : "decode (1 token, 1 pass)", r.decode());
        if (r.decode().sparseMsPerLayer() > 0) {
            sb.append(String.format(Locale.ROOT, "decode: a sparse layer takes %.1fx less time than a full (oracle) layer%n",
                    r.decode().fullMsPerLayer() / r.decode().sparseMsPerLayer()));
        }
        RunReport.Kv kv = r.kv();
        sb.append(String.format(Locale.ROOT, "%nKV memory at T = %d (SPEC 4)%n", r.finalTokens()));
        sb.append(String.format(Locale.ROOT, "  %-16s %12s   (live caches hold %s: %s)%n", "HySparse", bytes(kv.hySparse()), bytes(kv.measured()),
                kv.measured() == kv.hySparse() ? "exactly the formula" : "DIFFERS from the formula"));
        sb.append(String.format(Locale.ROOT, "  %-16s %12s   (%.2fx the HySparse KV here; %.1fx at T >> W)%n", "full attention",
                bytes(kv.fullAttention()), kv.reduction(), kv.reductionLongContext()));
        sb.append(String.format(Locale.ROOT, "  %-16s %12s%n", "hybrid SWA", bytes(kv.hybridSwa())));
        sb.append(String.format(Locale.ROOT, "%nselection quality at the last decode step%n"));
        sb.append(String.format(Locale.ROOT, "  needle recall: %.1f%% (%d planted-needle lookups, all decode steps)%n", 100 * r.needleRecall(), r.needleTrials()));
        for (RunReport.FullLayer f : r.fullLayers()) {
            sb.append(String.format(Locale.ROOT, "  full layer %2d: dropped mass of its own attention (SPEC 5) max %.4f, mean %.4f%n",
                    f.layer(), f.droppedMax(), f.droppedMean()));
        }
        sb.append(String.format(Locale.ROOT, "  %-6s %-5s %8s %12s %12s %14s %14s%n", "sparse", "reads", "blocks", "dropped max", "dropped mean",
                "rel.err mean", "rel.err max"));
        for (RunReport.SparseLayer s : r.sparseLayers()) {
            sb.append(String.format(Locale.ROOT, "  %-6d %-5d %8d %12.4f %12.4f %14.4f %14.4f%n", s.layer(), s.fullLayer(), s.selectedBlocks(),
                    s.droppedMax(), s.droppedMean(), s.relErrorMean(), s.relErrorMax()));
        }
        sb.append("  (rel.err: the selected-block branch vs dense attention over the same shared cache, per query head)\n");
        if (!r.modes().isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%nscore modes side by side: top-%d on the same model and caches (this run: %s)%n", c.topk(), c.scores()));
            sb.append(String.format(Locale.ROOT, "  %-5s %14s %22s %24s %22s%n", "mode", "needle recall", "full dropped max/mean",
                    "sparse dropped max/mean", "rel.err mean/max"));
            for (RunReport.ModeQuality m : r.modes()) {
                sb.append(String.format(Locale.ROOT, "  %-5s %13.1f%% %11.4f / %.4f %13.4f / %.4f %11.4f / %.4f%n", m.mode(),
                        100 * m.needleRecall(), m.fullDroppedMax(), m.fullDroppedMean(), m.sparseDroppedMax(), m.sparseDroppedMean(),
                        m.relErrorMean(), m.relErrorMax()));
            }
            sb.append("  (MAX is the paper's Eq. 3: a block's largest probability; MASS sums the block, which PrHS's --delta needs)\n");
        }
        return sb.toString();
    }

    private static void phase(StringBuilder sb, String name, RunReport.Phase p) {
        if (p.tokens() == 0) return;
        sb.append(String.format(Locale.ROOT, "%-34s %11.3f ms %11.3f ms %14.1f%n", name, p.fullMsPerLayer(), p.sparseMsPerLayer(), p.tokensPerSecond()));
    }

    static String json(RunReport r) {
        RunConfig c = r.config();
        StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"backend\": ").append(str(r.backend())).append(",\n");
        sb.append("  \"device\": ").append(str(r.device())).append(",\n");
        sb.append("  \"config\": {\"pattern\": ").append(str(c.pattern())).append(", \"layers\": ").append(c.layers())
                .append(", \"fullLayers\": ").append(c.fullLayers()).append(", \"context\": ").append(c.context())
                .append(", \"decode\": ").append(c.decode()).append(", \"prefill\": ").append(c.prefillRows())
                .append(", \"hq\": ").append(c.hq()).append(", \"hkv\": ").append(c.hkv()).append(", \"dim\": ").append(c.dim())
                .append(", \"block\": ").append(c.block()).append(", \"topk\": ").append(c.topk()).append(", \"window\": ").append(c.window())
                .append(", \"delta\": ").append(c.delta() == null ? "null" : num(c.delta())).append(", \"kv\": ").append(str(c.kv().shortName()))
                .append(", \"seed\": ").append(c.seed()).append(", \"scores\": ").append(str(c.scores().name()))
                .append(", \"v1Policy\": ").append(c.v1Policy()).append(", \"preset\": ").append(str(c.preset())).append("},\n");
        sb.append("  \"finalTokens\": ").append(r.finalTokens()).append(",\n");
        sb.append("  \"prefill\": ").append(phase(r.prefill())).append(",\n");
        sb.append("  \"firstDecode\": ").append(phase(r.firstDecode())).append(",\n");
        sb.append("  \"decode\": ").append(phase(r.decode())).append(",\n");
        RunReport.Kv kv = r.kv();
        sb.append("  \"kvBytes\": {\"hySparse\": ").append(kv.hySparse()).append(", \"fullAttention\": ").append(kv.fullAttention())
                .append(", \"hybridSwa\": ").append(kv.hybridSwa()).append(", \"measured\": ").append(kv.measured())
                .append(", \"reductionVsFullAttention\": ").append(num(kv.reduction()))
                .append(", \"reductionLongContext\": ").append(num(kv.reductionLongContext())).append("},\n");
        sb.append("  \"needleRecall\": ").append(num(r.needleRecall())).append(",\n");
        sb.append("  \"needleTrials\": ").append(r.needleTrials()).append(",\n");
        sb.append("  \"fullLayers\": [").append(r.fullLayers().stream().map(f -> "{\"layer\": " + f.layer() + ", \"droppedMax\": "
                + num(f.droppedMax()) + ", \"droppedMean\": " + num(f.droppedMean()) + "}").collect(Collectors.joining(", "))).append("],\n");
        sb.append("  \"sparseLayers\": [\n").append(r.sparseLayers().stream().map(s -> "    {\"layer\": " + s.layer() + ", \"fullLayer\": "
                + s.fullLayer() + ", \"selectedBlocks\": " + s.selectedBlocks() + ", \"droppedMax\": " + num(s.droppedMax())
                + ", \"droppedMean\": " + num(s.droppedMean()) + ", \"relErrorMean\": " + num(s.relErrorMean())
                + ", \"relErrorMax\": " + num(s.relErrorMax()) + "}").collect(Collectors.joining(",\n"))).append("\n  ],\n");
        sb.append("  \"scoreModes\": [\n").append(r.modes().stream().map(m -> "    {\"mode\": " + str(m.mode().name()) + ", \"needleRecall\": "
                + num(m.needleRecall()) + ", \"needleTrials\": " + m.needleTrials() + ", \"fullDroppedMax\": " + num(m.fullDroppedMax())
                + ", \"fullDroppedMean\": " + num(m.fullDroppedMean()) + ", \"sparseDroppedMax\": " + num(m.sparseDroppedMax())
                + ", \"sparseDroppedMean\": " + num(m.sparseDroppedMean()) + ", \"relErrorMean\": " + num(m.relErrorMean())
                + ", \"relErrorMax\": " + num(m.relErrorMax()) + "}").collect(Collectors.joining(",\n"))).append("\n  ]\n}\n");
        return sb.toString();
    }

    private static String phase(RunReport.Phase p) {
        return "{\"tokens\": " + p.tokens() + ", \"fullMsPerLayer\": " + num(p.fullMsPerLayer()) + ", \"sparseMsPerLayer\": "
                + num(p.sparseMsPerLayer()) + ", \"modelMs\": " + num(p.modelMs()) + ", \"tokensPerSecond\": " + num(p.tokensPerSecond()) + "}";
    }

    static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null";
    }

    static String str(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> { if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch)); else sb.append(ch); }
            }
        }
        return sb.append('"').toString();
    }
}
