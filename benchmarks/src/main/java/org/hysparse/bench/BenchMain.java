package org.hysparse.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.hysparse.api.KvPrecision;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * {@code java -jar benchmarks.jar [JMH options, e.g. a name regex] [--table FILE]}: runs the
 * benchmarks, then prints every result as a ratio against a ceiling measured in the same run.
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        Path table = null;
        List<String> jmhArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--table") && i + 1 < args.length) table = Path.of(args[++i]);
            else jmhArgs.add(args[i]);
        }
        // A name filter selects benchmarks, but the ceilings every ratio is measured against run too: without them
        // a filtered run could only print NaN for its ratios.
        CommandLineOptions given = new CommandLineOptions(jmhArgs.toArray(String[]::new));
        boolean filtered = !given.getIncludes().isEmpty();
        OptionsBuilder builder = new OptionsBuilder();
        builder.parent(given).include(filtered ? "org\\.hysparse\\.bench\\.MachineBench\\." : "org.hysparse.bench.*");
        // -jvmArgsAppend on the command line replaces the benchmarks' own (the Vector API module among them), which left
        // the ceilings unmeasured (NaN) and the cpu backend on its plain path: the module goes back in front.
        if (given.getJvmArgsAppend().hasValue()) {
            List<String> append = new ArrayList<>(List.of("--add-modules=jdk.incubator.vector"));
            append.addAll(given.getJvmArgsAppend().get());
            builder.jvmArgsAppend(append.toArray(String[]::new));
        }
        Options options = builder.build();
        Collection<RunResult> results = run(options);
        String text = table(results);
        System.out.println(text);
        if (table != null) Files.writeString(table, text);
    }

    private static Collection<RunResult> run(Options options) throws RunnerException {
        return new Runner(options).run();
    }

    /** Milliseconds per operation, keyed by "Class.method param=value ...". */
    static Map<String, Double> scores(Collection<RunResult> results) {
        Map<String, Double> m = new HashMap<>();
        for (RunResult r : results) {
            var p = r.getParams();
            StringBuilder key = new StringBuilder(p.getBenchmark().replace("org.hysparse.bench.", ""));
            for (String name : p.getParamsKeys()) key.append(' ').append(name).append('=').append(p.getParam(name));
            m.put(key.toString(), r.getPrimaryResult().getScore());
        }
        return m;
    }

    static String table(Collection<RunResult> results) {
        Map<String, Double> ms = scores(results);
        StringBuilder sb = new StringBuilder();
        Double stream = ms.get("MachineBench.streamRead");
        Double fma = ms.get("MachineBench.fmaPeak");
        double gbs = stream == null ? Double.NaN : Ceilings.streamBytesPerOp() / (stream / 1e3) / 1e9;
        double gflops = fma == null ? Double.NaN : Ceilings.fmaFlopsPerOp() / (fma / 1e3) / 1e9;
        sb.append(String.format(Locale.ROOT, "%nMachine (measured in this run, %d threads): read bandwidth %.1f GB/s, vector FMA peak %.1f GFLOP/s%n%n",
                Runtime.getRuntime().availableProcessors(), gbs, gflops));
        sb.append("| benchmark | KV | T | ms/op | achieved | ratio |\n| --- | --- | --- | --- | --- | --- |\n");
        for (String kv : List.of("fp32", "fp16", "bf16")) {
            for (int t : new int[] {8192, 32768, 131072}) {
                Double dense = ms.get("DecodeBench.denseOracle backend=cpu kv=" + kv + " tokens=" + t);
                if (dense == null) continue;
                double bw = Shapes.decodeBytes(t, KvPrecision.parse(kv)) / (dense / 1e3) / 1e9;
                row(sb, "decode dense oracle", kv, t, dense, String.format(Locale.ROOT, "%.1f GB/s", bw),
                        String.format(Locale.ROOT, "%.0f%% of read bandwidth", 100 * bw / gbs));
                for (String k : List.of("16", "32", "64")) {
                    Double sp = ms.get("DecodeBench.sparseK" + k + " backend=cpu kv=" + kv + " tokens=" + t);
                    if (sp != null) row(sb, "decode sparse k=" + k, kv, t, sp, "", String.format(Locale.ROOT, "%.1fx faster than dense", dense / sp));
                }
                if (!kv.equals("fp32")) {
                    Double d32 = ms.get("DecodeBench.denseOracle backend=cpu kv=fp32 tokens=" + t);
                    if (d32 != null) row(sb, "decode dense " + kv + " vs fp32", kv, t, dense, "", String.format(Locale.ROOT, "%.2fx faster than fp32", d32 / dense));
                }
            }
        }
        Double refPrefill = ms.get("ReferenceBench.prefill512 backend=reference");
        Double cpuPrefill = ms.get("ReferenceBench.prefill512 backend=cpu");
        double refFlops = refPrefill == null ? Double.NaN : Shapes.prefillFlops(512, 512) / (refPrefill / 1e3);
        for (String kv : List.of("fp32", "fp16")) {
            for (int t : new int[] {2048, 8192}) {
                Double p = ms.get("PrefillBench.prefill backend=cpu kv=" + kv + " tokens=" + t);
                if (p == null) continue;
                double f = Shapes.prefillFlops(t, t) / (p / 1e3);
                row(sb, "prefill causal", kv, t, p, String.format(Locale.ROOT, "%.1f GFLOP/s", f / 1e9),
                        String.format(Locale.ROOT, "%.0f%% of FMA peak", 100 * f / 1e9 / gflops)
                                + (refPrefill == null ? "" : String.format(Locale.ROOT, "; %.0fx the reference's FLOP rate", f / refFlops)));
            }
        }
        Double refDecode = ms.get("ReferenceBench.decode8k backend=reference");
        Double cpuDecode = ms.get("ReferenceBench.decode8k backend=cpu");
        if (refDecode != null && cpuDecode != null) {
            row(sb, "decode oracle, reference vs cpu", "fp32", 8192, cpuDecode, String.format(Locale.ROOT, "reference %.1f ms", refDecode),
                    String.format(Locale.ROOT, "%.0fx faster than reference", refDecode / cpuDecode));
        }
        if (refPrefill != null && cpuPrefill != null) {
            row(sb, "prefill 512, reference vs cpu", "fp32", 512, cpuPrefill, String.format(Locale.ROOT, "reference %.1f ms", refPrefill),
                    String.format(Locale.ROOT, "%.0fx faster than reference", refPrefill / cpuPrefill));
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String what, String kv, int t, double ms, String achieved, String ratio) {
        sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %.3f | %s | %s |%n", what, kv, t, ms, achieved, ratio));
    }
}
