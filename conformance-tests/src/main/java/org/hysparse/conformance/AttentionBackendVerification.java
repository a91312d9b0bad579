package org.hysparse.conformance;

import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.KvPrecision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.opentest4j.TestAbortedException;

/**
 * Extend this in your backend's tests and return your backend: you get one JUnit test per rule and KV
 * precision, each failing with its rule id, the case and the seed (the Reactive Streams TCK pattern).
 * <pre>
 * class MyBackendConformanceTest extends AttentionBackendVerification {
 *     protected AttentionBackend createBackend() { return new MyBackend(); }
 * }
 * </pre>
 * The seed is {@value ConformanceSuite#DEFAULT_SEED} unless the system property {@code hysparse.seed} sets one.
 * A backend that cannot run here aborts {@code createBackend} with its reason (JUnit's {@code Assumptions}): every
 * rule is then reported skipped with that reason.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class AttentionBackendVerification {
    private AttentionBackend backend;

    /** The backend under test; created once per test class and closed after it. */
    protected abstract AttentionBackend createBackend();

    /** Precisions to verify; all the backend reads by default. */
    protected Set<KvPrecision> precisions() {
        return EnumSet.copyOf(backend().precisions());
    }

    /** Rules to run; all by default. */
    protected Set<Rule> rules() {
        return EnumSet.allOf(Rule.class);
    }

    protected long seed() {
        return Long.getLong("hysparse.seed", ConformanceSuite.DEFAULT_SEED);
    }

    private AttentionBackend backend() {
        if (backend == null) backend = createBackend();
        return backend;
    }

    @TestFactory
    Stream<? extends DynamicNode> conformance() {
        try {
            backend();
        } catch (TestAbortedException e) {
            // An aborted factory shows as no test at all ("Tests run: 0"): each rule is reported skipped instead.
            return rules().stream().map(rule -> DynamicTest.dynamicTest(rule.id() + " " + rule.title(),
                    () -> Assumptions.abort(rule.id() + " skipped: " + e.getMessage())));
        }
        return precisions().stream().map(p -> {
            ConformanceSuite suite = new ConformanceSuite(p, seed());
            return DynamicContainer.dynamicContainer(backend().name() + " " + p.shortName(), rules().stream().map(rule ->
                    DynamicTest.dynamicTest(rule.id() + " " + rule.title(), () -> {
                        RuleResult r = suite.check(rule, backend());
                        switch (r.status()) {
                            case PASSED -> { }
                            case SKIPPED -> Assumptions.abort(r.message());
                            case FAILED -> throw new AssertionError(r.message(), r.cause() instanceof RuleFailure ? null : r.cause());
                        }
                    })));
        });
    }

    @AfterAll
    void closeBackend() {
        if (backend != null) backend.close();
    }
}
