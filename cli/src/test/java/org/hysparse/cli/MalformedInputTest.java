package org.hysparse.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Malformed options and files, table-driven: each is one line on stderr starting "hysparse: ", exit code 2. */
class MalformedInputTest {
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "nope",
            "run --bogus",
            "run --context abc",
            "run --context 99999999999",
            "run --context 0",
            "run --context",
            "run --decode -1",
            "run --layers -1",
            "run --layers 4 --full 9",
            "run --heads 5/2",
            "run --heads x",
            "run --heads 4/0",
            "run --dim 0",
            "run --topk 0",
            "run --window -3",
            "run --kv fp8",
            "run --preset nope",
            "run --pattern FXS",
            "run --pattern SFF",
            "run --scores maybe",
            "run --delta 2",
            "run --delta abc",
            "run --options a",
            "run --options threads=abc",
            "run --backend nope",
            "run --report /proc/hysparse-cannot-be-here",
            "run --seed 1.5",
            "serve --batch 0",
            "serve --steps 0",
            "serve --prompt-min 5 --prompt-max 2",
            "serve --pattern X",
            "conformance --kv",
            "conformance --kv fp64",
            "conformance --backend nope",
            "conformance --backend reference --all",
            "conformance --junit-xml /proc/hysparse-cannot-be-here --backend reference",
            "conformance --seed x",
            "bench --bogus",
            "bench --context -5",
            "backends --extra",
            "--verbose nope",
    })
    void oneLineAndExitTwo(String line) {
        MainTest.Result r = MainTest.run(line.split(" "));
        String[] lines = Arrays.stream(r.err().split("\n")).filter(l -> !l.isBlank()).toArray(String[]::new);
        boolean verbose = line.startsWith("--verbose");
        assertEquals(2, r.code(), line + " -> " + r.err());
        assertTrue(lines.length >= 1 && lines[0].startsWith("hysparse: "), line + " -> " + r.err());
        if (!verbose) assertEquals(1, lines.length, line + " should print one line: " + r.err());
        assertFalse(r.err().contains("Exception") && !verbose, line + " leaked an exception name: " + r.err());
    }

    /** A run that cannot fit the heap fails before filling anything: one line with the bytes and the remedies. */
    @org.junit.jupiter.api.Test
    void aRunTooLargeForTheHeapFailsAtOnceInOneLine() {
        MainTest.Result r = MainTest.run("run", "--context", "2000000000", "--decode", "1");
        assertEquals(1, r.code(), r.err());
        String[] lines = Arrays.stream(r.err().split("\n")).filter(l -> !l.isBlank()).toArray(String[]::new);
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].contains("needs about") && lines[0].contains("available") && lines[0].contains("--kv fp16")
                && lines[0].contains("HYSPARSE_JAVA_OPTS"), lines[0]);
    }
}
