package org.hysparse.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Callable;
import org.hysparse.api.KvPrecision;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.Backends;
import org.hysparse.conformance.ConformanceReport;
import org.hysparse.conformance.ConformanceRunner;
import org.hysparse.conformance.ConformanceSuite;
import org.hysparse.conformance.JUnitXml;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = "Run the conformance kit (judged by the reference backend); exit 1 on any failure.")
final class ConformanceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @picocli.CommandLine.ParentCommand
    Main main;

    static final class Which {
        @Option(names = "--backend", description = "One backend by name (default: the default backend).")
        String backend;
        @Option(names = "--all", description = "Every backend on the classpath; unavailable ones are reported skipped.")
        boolean all;
    }

    @ArgGroup(exclusive = true)
    Which which;
    @Option(names = "--junit-xml", description = "Also write JUnit XML reports into this folder.")
    Path junitXml;
    @Option(names = "--seed", description = "Seed of the generated cases (default: ${DEFAULT-VALUE}).")
    long seed = ConformanceSuite.DEFAULT_SEED;
    @Option(names = "--options", description = "Backend options, key=value,...")
    String options;
    @Option(names = "--kv", split = ",", description = "Only these KV precisions, e.g. fp32 (default: every one the backend reads).")
    List<String> kv;

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        // The report folder first: a path that cannot be written fails now, not after the whole kit has run.
        if (junitXml != null) WritableFolder.check("--junit-xml", junitXml);
        Backends backends = Backends.fromClasspath();
        Set<KvPrecision> only = EnumSet.allOf(KvPrecision.class);
        if (kv != null) {
            only = EnumSet.noneOf(KvPrecision.class);
            for (String p : kv) only.add(KvPrecision.parse(p));
        }
        List<ConformanceReport> reports = new ArrayList<>();
        if (which != null && which.all) {
            reports.addAll(ConformanceRunner.runAll(backends, seed, only));
        } else {
            var provider = which == null || which.backend == null ? backends.chooseDefault().provider() : backends.require(which.backend);
            reports.addAll(ConformanceRunner.run(provider, BackendOptions.parse(options), seed, only));
        }
        out.print(ConformanceRunner.summary(reports, main != null && main.verbose));
        if (junitXml != null) out.println("JUnit XML: " + JUnitXml.write(reports, junitXml));
        boolean ok = reports.stream().allMatch(ConformanceReport::passed);
        out.println(ok ? "conformance: PASSED" : "conformance: FAILED");
        out.flush();
        return ok ? 0 : 1;
    }
}
