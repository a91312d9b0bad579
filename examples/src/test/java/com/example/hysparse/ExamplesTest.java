package com.example.hysparse;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.hysparse.api.Backends;
import org.hysparse.api.KvPrecision;
import org.hysparse.conformance.ConformanceReport;
import org.hysparse.conformance.ConformanceRunner;
import org.junit.jupiter.api.Test;

class ExamplesTest {

    /** README shows QuickStart's body: the two must not drift apart, and the program must run. */
    @Test
    void readmeShowsTheQuickStartThatRuns() throws Exception {
        String source = Files.readString(Path.of("src/main/java/com/example/hysparse/QuickStart.java"));
        String body = source.substring(source.indexOf("// README start") + "// README start".length(), source.indexOf("// README end"));
        String readme = Files.readString(Path.of("../README.md"));
        for (String line : body.strip().split("\n")) {
            assertTrue(readme.contains(line.strip()), "README lacks the QuickStart line: " + line.strip());
        }
        PrintStream old = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            QuickStart.main(new String[0]);
        } finally {
            System.setOut(old);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        assertTrue(printed.startsWith("cpu: 16 of 64 blocks per KV head, out[0] = "), printed);
        assertFalse(printed.contains("NaN"), printed);
    }

    /** Found through ServiceLoader as any backend on a classpath is, below cpu, and it passes the kit by that route. */
    @Test
    void theProviderIsFoundAndPassesTheKitThroughTheRunner() {
        Backends backends = Backends.fromClasspath();
        assertTrue(backends.providers().stream().anyMatch(p -> p.name().equals("plain")), "plain not found");
        assertEquals("cpu", backends.chooseDefault().provider().name(), "plain (priority 10) must not take over from cpu");
        List<ConformanceReport> reports = ConformanceRunner.runAll(Backends.of(List.of(backends.require("plain"))), 7L,
                Set.of(KvPrecision.FLOAT16));
        assertEquals(1, reports.size());
        assertTrue(reports.get(0).passed(), ConformanceRunner.summary(reports));
    }
}
