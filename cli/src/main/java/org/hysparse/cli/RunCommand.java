package org.hysparse.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.Backends;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a HySparse model layout over a long context: prefill tail, then decode steps through full and sparse layers.")
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    // A mixin, not an argument group: picocli shows a group's defaults as null in --help.
    @Mixin
    WorkloadOptions workload;
    @Option(names = "--backend", description = "Backend name (default: the best available).")
    String backend;
    @Option(names = "--options", description = "Backend options, key=value,... e.g. threads=2.")
    String options;
    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;
    @Option(names = "--report", description = "Write an HTML report with charts into this folder.")
    Path report;

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        RunConfig config = workload.config();
        if (report != null) WritableFolder.check("--report", report);
        HeapCheck.require("this run (" + config.layers() + " layers, " + config.fullLayers() + " full, " + config.context()
                + " tokens of " + config.kv().shortName() + " KV)", HeapCheck.runBytes(config));
        Backends backends = Backends.fromClasspath();
        var provider = backend == null ? backends.chooseDefault().provider() : backends.require(backend);
        RunReport r;
        try (AttentionBackend b = provider.create(BackendOptions.parse(options));
             HySparseRun run = new HySparseRun(config, b);
             Progress progress = new Progress(err)) {
            r = run.run(progress);
            r = new RunReport(r.backend(), Backends.device(provider, b), r.config(), r.finalTokens(), r.prefill(), r.firstDecode(), r.decode(), r.kv(),
                    r.sparseLayers(), r.fullLayers(), r.needleRecall(), r.needleTrials(), r.modes());
            if (report != null) {
                Path page = HtmlReport.write(report, r, b, err);
                err.println("report written to " + page);
            }
        }
        out.print(json ? ReportFormat.json(r) : ReportFormat.text(r));
        out.flush();
        return 0;
    }
}
