package org.hysparse.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RulesDocumentedTest {
    @Test
    void rulesMdListsEveryRuleId() throws Exception {
        String doc = Files.readString(Path.of("RULES.md"));
        for (Rule r : Rule.values()) assertTrue(doc.contains("| " + r.id() + " |"), r.id() + " is missing from RULES.md");
    }
}
