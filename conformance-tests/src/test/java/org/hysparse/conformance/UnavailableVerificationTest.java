package org.hysparse.conformance;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.hysparse.api.AttentionBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** A backend that cannot run here: the verification class reports every rule skipped with its reason, not zero tests. */
class UnavailableVerificationTest {
    private static final class NoDevice extends AttentionBackendVerification {
        @Override
        protected AttentionBackend createBackend() {
            Assumptions.abort("no accelerator on this machine");
            throw new AssertionError("unreachable");
        }
    }

    @Test
    void eachRuleIsSkippedWithTheBackendsReason() {
        List<? extends DynamicNode> nodes = new NoDevice().conformance().toList();
        assertEquals(Rule.values().length, nodes.size());
        for (int i = 0; i < nodes.size(); i++) {
            Rule rule = Rule.values()[i];
            DynamicTest test = assertInstanceOf(DynamicTest.class, nodes.get(i));
            assertTrue(test.getDisplayName().startsWith(rule.id() + " "), test.getDisplayName());
            TestAbortedException skipped = assertThrows(TestAbortedException.class, () -> test.getExecutable().execute());
            assertTrue(skipped.getMessage().contains(rule.id()) && skipped.getMessage().contains("no accelerator on this machine"),
                    skipped.getMessage());
        }
    }
}
