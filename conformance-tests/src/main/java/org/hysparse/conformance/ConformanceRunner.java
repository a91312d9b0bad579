package org.hysparse.conformance;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.AttentionBackendProvider;
import org.hysparse.api.Availability;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.Backends;
import org.hysparse.api.KvPrecision;

/**
 * Runs the kit against providers found on the classpath: every precision each one reads. Unavailable
 * providers get a report whose rules are all SKIPPED with the provider's reason.
 */
public final class ConformanceRunner {
    private ConformanceRunner() {
    }

    /** Every provider on the classpath, in every precision each reads. */
    public static List<ConformanceReport> runAll(Backends backends, long seed) {
        return runAll(backends, seed, EnumSet.allOf(KvPrecision.class));
    }

    /** Every provider on the classpath, in each of {@code only} that it reads. */
    public static List<ConformanceReport> runAll(Backends backends, long seed, Set<KvPrecision> only) {
        List<ConformanceReport> reports = new ArrayList<>();
        for (AttentionBackendProvider p : backends.providers()) reports.addAll(run(p, BackendOptions.none(), seed, only));
        return reports;
    }

    /** One provider, in each precision it reads. */
    public static List<ConformanceReport> run(AttentionBackendProvider provider, BackendOptions options, long seed) {
        return run(provider, options, seed, EnumSet.allOf(KvPrecision.class));
    }

    /** One provider, in each of {@code only} that it reads. */
    public static List<ConformanceReport> run(AttentionBackendProvider provider, BackendOptions options, long seed,
                                              Set<KvPrecision> only) {
        Availability a = provider.availability();
        List<ConformanceReport> reports = new ArrayList<>();
        if (!a.available()) {
            reports.add(new ConformanceReport(provider.name(), KvPrecision.FLOAT32, EnumSet.allOf(Rule.class).stream()
                    .map(r -> new RuleResult(r, RuleResult.Status.SKIPPED, r.id() + " skipped: backend unavailable: " + a.reason(), 0))
                    .toList()));
            return reports;
        }
        Set<KvPrecision> precisions = EnumSet.copyOf(provider.precisions());
        precisions.retainAll(only);
        try (AttentionBackend backend = provider.create(options)) {
            for (KvPrecision p : precisions) reports.add(new ConformanceSuite(p, seed).run(backend));
        }
        return reports;
    }

    /** A per-rule summary, one line per rule and one per report. */
    public static String summary(List<ConformanceReport> reports) {
        StringBuilder sb = new StringBuilder();
        for (ConformanceReport r : reports) {
            sb.append(r.backend()).append(" [").append(r.precision().shortName()).append("]: ")
                    .append(r.count(RuleResult.Status.PASSED)).append(" passed, ")
                    .append(r.count(RuleResult.Status.FAILED)).append(" failed, ")
                    .append(r.count(RuleResult.Status.SKIPPED)).append(" skipped\n");
            for (RuleResult rr : r.results()) {
                sb.append(String.format("  %-7s %-12s %6d ms  %s%n", rr.status(), rr.rule().id(), rr.millis(),
                        rr.status() == RuleResult.Status.PASSED ? rr.rule().title() : rr.message()));
            }
        }
        return sb.toString();
    }

    /**
     * The summary, and under each failed rule whose backend threw, that exception's stack trace (the CLI's
     * {@code --verbose}): an implementer finds the line.
     */
    public static String summary(List<ConformanceReport> reports, boolean traces) {
        if (!traces) return summary(reports);
        StringBuilder sb = new StringBuilder(summary(reports));
        for (ConformanceReport r : reports) {
            for (RuleResult rr : r.failures()) {
                if (rr.cause() == null || rr.cause() instanceof RuleFailure) continue;
                java.io.StringWriter trace = new java.io.StringWriter();
                rr.cause().printStackTrace(new java.io.PrintWriter(trace));
                sb.append(r.backend()).append(" [").append(r.precision().shortName()).append("] ").append(rr.rule().id())
                        .append(" threw:\n").append(trace);
            }
        }
        return sb.toString();
    }

    /** Rule ids that failed, e.g. to assert which rule caught a mutant. */
    public static Set<String> failedIds(ConformanceReport report) {
        return report.failures().stream().map(r -> r.rule().id()).collect(Collectors.toCollection(java.util.TreeSet::new));
    }
}
