package org.hysparse.conformance;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.hysparse.api.*;
import org.hysparse.reference.ReferenceProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunnerTest {
    private record Missing() implements AttentionBackendProvider {
        @Override public String name() { return "missing"; }
        @Override public int priority() { return 50; }
        @Override public Availability availability() { return Availability.unavailable("no such device here"); }
        @Override public String device() { return "none"; }
        @Override public Set<KvPrecision> precisions() { return Set.of(KvPrecision.FLOAT32); }
        @Override public AttentionBackend create(BackendOptions o) { throw new IllegalStateException("unavailable"); }
    }

    @Test
    void unavailableProvidersAreReportedSkippedWithTheirReason(@TempDir Path dir) throws Exception {
        List<ConformanceReport> reports = ConformanceRunner.runAll(Backends.of(List.of(new Missing())), 1, java.util.EnumSet.allOf(KvPrecision.class));
        assertEquals(1, reports.size());
        ConformanceReport r = reports.get(0);
        assertEquals(Rule.values().length, r.count(RuleResult.Status.SKIPPED));
        assertTrue(r.results().get(0).message().contains("no such device here"));
        Path xml = JUnitXml.write(reports, dir).get(0);
        String text = Files.readString(xml);
        assertTrue(text.contains("skipped=\"" + Rule.values().length + "\""), text);
        assertTrue(text.contains("<skipped message="), text);
    }

    @Test
    void classpathDiscoveryFindsTheReferenceAndJunitXmlRecordsFailures(@TempDir Path dir) throws Exception {
        assertTrue(Backends.fromClasspath().find(ReferenceProvider.NAME).isPresent());
        ConformanceReport broken = new ConformanceSuite(KvPrecision.FLOAT32, 5)
                .run(new MutantBackend(MutantBackend.Mutation.GATES_SWAPPED), java.util.EnumSet.of(Rule.SPARSE_1, Rule.KV_2));
        assertFalse(broken.passed());
        assertEquals(Set.of("HS-SPARSE-1"), ConformanceRunner.failedIds(broken));
        String text = Files.readString(JUnitXml.write(List.of(broken), dir).get(0));
        assertTrue(text.contains("failures=\"1\""), text);
        assertTrue(text.contains("<failure message=\"HS-SPARSE-1"), text);
        assertTrue(ConformanceRunner.summary(List.of(broken)).contains("FAILED  HS-SPARSE-1"));
    }
}
