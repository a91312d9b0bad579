package org.hysparse.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.AttentionBackendProvider;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.Backends;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "The same HySparse workload on every available backend, side by side, with ratios and output agreement.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Option(names = "--layers", description = "(default: ${DEFAULT-VALUE})") int layers = 10;
    @Option(names = "--full", description = "(default: ${DEFAULT-VALUE})") int full = 2;
    @Option(names = "--context", description = "(default: ${DEFAULT-VALUE}; the reference is slow)") int context = 2048;
    @Option(names = "--decode", description = "(default: ${DEFAULT-VALUE})") int decode = 4;
    @Option(names = "--prefill", description = "(default: ${DEFAULT-VALUE})") int prefill = 16;
    @Option(names = "--heads", description = "(default: ${DEFAULT-VALUE})") String heads = "8/2";
    @Option(names = "--dim", description = "(default: ${DEFAULT-VALUE})") int dim = 64;
    @Option(names = "--topk", description = "(default: ${DEFAULT-VALUE})") int topk = 8;
    @Option(names = "--kv", description = "(default: ${DEFAULT-VALUE})") String kv = "fp32";
    @Option(names = "--backends", split = ",", description = "Only these backends (default: every available one).")
    List<String> only;
    @Option(names = "--report", description = "Write an HTML report (this table, and the charts measured on the fastest backend) into this folder.")
    java.nio.file.Path report;

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        WorkloadOptions w = new WorkloadOptions();
        w.layers = layers; w.full = full; w.context = context; w.decode = decode; w.prefill = prefill; w.heads = heads;
        w.dim = dim; w.topk = topk; w.kv = kv; w.needles = 4;
        RunConfig config = w.config();
        Backends backends = Backends.fromClasspath();
        List<AttentionBackendProvider> chosen = new ArrayList<>();
        if (only != null) for (String n : only) chosen.add(backends.require(n));
        else for (AttentionBackendProvider p : backends.providers()) if (p.availability().available()) chosen.add(p);
        List<RunReport> reports = new ArrayList<>();
        List<List<float[]>> outputs = new ArrayList<>();
        for (AttentionBackendProvider p : chosen) {
            err.println("bench: running " + p.name() + " ...");
            err.flush();
            try (AttentionBackend b = p.create(BackendOptions.none()); HySparseRun run = new HySparseRun(config, b);
                 Progress progress = new Progress(err)) {
                reports.add(run.run(progress));
                outputs.add(List.copyOf(run.lastOutputs));
            }
        }
        StringWriter table = new StringWriter();
        PrintWriter tw = new PrintWriter(table);
        tw.printf(Locale.ROOT, "workload: %d layers (%s), context %d, %d decode steps, prefill %d, heads %s, D %d, top-k %d, KV %s%n",
                config.layers(), config.pattern(), context, decode, prefill, heads, dim, topk, kv);
        tw.printf(Locale.ROOT, "%-10s %14s %14s %14s %14s %12s %16s%n", "backend", "decode tok/s", "full ms/layer", "sparse ms/layer",
                "prefill tok/s", "vs slowest", "max rel. diff");
        double slowest = reports.stream().mapToDouble(r -> r.decode().tokensPerSecond()).min().orElse(1);
        int refIdx = 0;
        for (int i = 0; i < chosen.size(); i++) if (chosen.get(i).name().equals("reference")) refIdx = i;
        for (int i = 0; i < reports.size(); i++) {
            RunReport r = reports.get(i);
            tw.printf(Locale.ROOT, "%-10s %14.1f %14.3f %14.3f %14.1f %11.1fx %16s%n", r.backend(), r.decode().tokensPerSecond(),
                    r.decode().fullMsPerLayer(), r.decode().sparseMsPerLayer(), r.prefill().tokensPerSecond(),
                    r.decode().tokensPerSecond() / slowest, i == refIdx ? "(baseline)" : String.format(Locale.ROOT, "%.2e", maxRelDiff(outputs.get(i), outputs.get(refIdx))));
        }
        tw.println("max rel. diff: largest relative L2 difference of any layer's last decode output vs the "
                + chosen.get(refIdx).name() + " backend on identical inputs.");
        tw.flush();
        out.print(table);
        out.flush();
        if (report != null && !reports.isEmpty()) {
            int fastest = 0;
            for (int i = 1; i < reports.size(); i++) {
                if (reports.get(i).decode().tokensPerSecond() > reports.get(fastest).decode().tokensPerSecond()) fastest = i;
            }
            try (AttentionBackend b = chosen.get(fastest).create(BackendOptions.none())) {
                err.println("report written to " + HtmlReport.write(report, reports.get(fastest), b, err, table.toString()));
            }
        }
        return 0;
    }

    private static double maxRelDiff(List<float[]> a, List<float[]> b) {
        double worst = 0;
        for (int l = 0; l < a.size(); l++) {
            float[] x = a.get(l), y = b.get(l);
            double err = 0, norm = 0;
            for (int i = 0; i < x.length; i++) {
                err += (double) (x[i] - y[i]) * (x[i] - y[i]);
                norm += (double) y[i] * y[i];
            }
            worst = Math.max(worst, Math.sqrt(err / Math.max(norm, 1e-30)));
        }
        return worst;
    }
}
