package org.hysparse.backend.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.Availability;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.KvPrecision;
import org.hysparse.conformance.ConformanceSuite;
import org.hysparse.conformance.Rule;
import org.hysparse.conformance.RuleResult;
import org.junit.jupiter.api.Test;

/**
 * Run by the surefire execution {@code plain-without-vector-module}, in a JVM started without the Vector API: the
 * backend picks its plain float32 loops by itself (not the float64 reference), says why, and is right.
 */
class PlainFallbackTest {
    @Test
    void withoutTheVectorModuleTheBackendRunsItsPlainLoops() {
        assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty(),
                "this test belongs to a JVM without --add-modules jdk.incubator.vector (backend-cpu/pom.xml)");
        Availability a = new CpuProvider().availability();
        assertTrue(a.available(), a.reason());
        assertTrue(a.reason().startsWith("plain float32 loops: the JVM was started without --add-modules jdk.incubator.vector"), a.reason());
        assertTrue(new CpuProvider().device().contains("plain float32 loops"), new CpuProvider().device());
        assertTrue(FlashKernel.PLAIN);
        try (AttentionBackend cpu = new CpuProvider().create(BackendOptions.none())) {
            for (KvPrecision p : List.of(KvPrecision.FLOAT32, KvPrecision.BFLOAT16)) {
                ConformanceSuite suite = new ConformanceSuite(p, ConformanceSuite.DEFAULT_SEED);
                for (Rule rule : List.of(Rule.ORACLE_1, Rule.ORACLE_5, Rule.SPARSE_1, Rule.BATCH_1, Rule.E2E_1)) {
                    RuleResult r = suite.check(rule, cpu);
                    assertEquals(RuleResult.Status.PASSED, r.status(), r.message());
                }
            }
        }
    }
}
