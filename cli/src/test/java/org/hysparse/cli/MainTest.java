package org.hysparse.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every subcommand run in-process, output checked, error paths included. */
class MainTest {
    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    private static final String[] SMALL = {"--layers", "6", "--full", "2", "--context", "1024", "--decode", "3", "--prefill", "16",
            "--heads", "4/2", "--dim", "32", "--block", "32", "--topk", "4", "--window", "32", "--needles", "4"};

    private static String[] small(String... more) {
        String[] a = new String[1 + SMALL.length + more.length];
        a[0] = "run";
        System.arraycopy(SMALL, 0, a, 1, SMALL.length);
        System.arraycopy(more, 0, a, 1 + SMALL.length, more.length);
        return a;
    }

    @Test
    void versionAndHelp() {
        Result v = run("--version");
        assertEquals(0, v.code());
        assertTrue(v.out().matches("(?s)hysparse \\d+\\.\\d+\\.\\d+.*"), v.out());
        Result h = run("--help");
        assertEquals(0, h.code());
        for (String sub : new String[] {"backends", "run", "serve", "conformance", "bench"}) assertTrue(h.out().contains(sub), h.out());
        Result rh = run("run", "--help");
        assertTrue(rh.out().contains("--context") && rh.out().contains("--delta"), rh.out());
        assertFalse(rh.out().contains("(default: null)"), "every option shows its real default: " + rh.out());
        assertTrue(rh.out().contains("(default: 32)") && rh.out().contains("(default: fp32)"), rh.out());
        assertTrue(h.out().contains("HYSPARSE_JAVA_OPTS") && h.out().contains("HYSPARSE_CLASSPATH"), h.out());
    }

    @Test
    void backendsListsEveryProviderAndTheDefault() {
        Result r = run("backends");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("cpu*"), r.out());
        assertTrue(r.out().contains("reference"), r.out());
        assertTrue(r.out().contains("* default: cpu (highest priority (100)"), r.out());
        assertTrue(r.out().contains("fp32,fp16,bf16"), r.out());
    }

    @Test
    void runPrintsTheReportWithExactKvAccounting() {
        Result r = run(small());
        assertEquals(0, r.code(), r.err());
        String o = r.out();
        assertTrue(o.contains("hysparse run on backend 'cpu'"), o);
        assertTrue(o.contains("layout: 6 layers, 2 full (at 0, 3), 4 sparse"), o);
        assertTrue(o.contains("exactly the formula"), o);
        // Three decode passes: the first (one-time costs) on its own row, the other two averaged.
        assertTrue(o.contains("decode, first pass (1 token)") && o.contains("decode, next 2 passes (1 token)"), o);
        // KV: 2 full caches of 1027 tokens + 4 windows of 32, 2 heads x 32 dims x 4 bytes x (K, V).
        long expected = 2L * (2 * 1027 * 2 * 32 * 4) + 4L * (2 * 32 * 2 * 32 * 4);
        Result json = run(small("--json"));
        assertEquals(0, json.code(), json.err());
        assertEquals(expected, Long.parseLong(field(json.out(), "hySparse")));
        assertEquals(expected, Long.parseLong(field(json.out(), "measured")));
        assertEquals(6L * 2 * 1027 * 2 * 32 * 4, Long.parseLong(field(json.out(), "fullAttention")));
        assertTrue(json.out().contains("\"firstDecode\": {\"tokens\": 1,") && json.out().contains("\"decode\": {\"tokens\": 2,"), json.out());
        double recall = Double.parseDouble(field(json.out(), "needleRecall"));
        assertTrue(recall > 0.5, "planted needles should mostly be found: " + recall);
        assertEquals(4, json.out().split("\"layer\": ").length - 1 - 2, "four sparse layers reported (plus two full)");
        for (String d : all(json.out(), "droppedMax")) {
            double v = Double.parseDouble(d);
            assertTrue(v >= 0 && v <= 1, d);
        }
    }

    @Test
    void thePaperPresetRunsWithBothScoreModesSideBySide() {
        Result r = run("run", "--preset", "hysparse-80b", "--context", "1024", "--decode", "2", "--prefill", "8", "--needles", "4");
        assertEquals(0, r.code(), r.err());
        String o = r.out();
        assertTrue(o.contains("layout hysparse-80b: 49 layers, 5 full (at 0, 12, 24, 36, 48), 44 sparse; Hq/Hkv 64/4, D 128, B 64, top-k 16, W 128"), o);
        assertTrue(o.contains("operator: MAX block scores, no forced blocks (the paper's)"), o);
        assertTrue(o.contains("9.8x at T >> W"), o);
        assertTrue(o.contains("score modes side by side: top-16") && o.contains("\n  MAX ") && o.contains("\n  MASS "), o);
        Result json = run("run", "--preset", "hysparse-7b", "--context", "1024", "--decode", "2", "--prefill", "8", "--needles", "4",
                "--scores", "mass", "--delta", "0.2", "--json");
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().contains("\"pattern\": \"FSSSFSSSFSSSFSSSFSSSFSSSFSSSFSSSFSSF\""), json.out());
        assertTrue(json.out().contains("\"scores\": \"MASS\"") && json.out().contains("\"preset\": \"hysparse-7b\""), json.out());
        assertEquals(2, all(json.out(), "needleTrials").size() - 1, "two score modes after the run's own trials: " + json.out());
        for (String recall : all(json.out(), "needleRecall")) {
            double v = Double.parseDouble(recall);
            assertTrue(v >= 0 && v <= 1, recall);
        }
    }

    @Test
    void serveRunsSequencesThatArriveForkAndLeaveOverOnePoolPerLayer() {
        Result r = run("serve", "--batch", "5", "--steps", "40", "--prompt-min", "40", "--prompt-max", "300", "--heads", "8/2",
                "--dim", "32", "--pattern", "FSSFS", "--kv", "bf16");
        assertEquals(0, r.code(), r.err());
        String o = r.out();
        assertTrue(o.contains("hysparse serve on backend 'cpu'") && o.contains("40 decode steps"), o);
        assertTrue(o.matches("(?s).*sequences started \\((\\d+) forks\\), (\\d+) finished.*"), o);
        assertTrue(o.contains("tokens/s") && o.contains("p50") && o.contains("p99"), o);
        Matcher pool = Pattern.compile("pool \\(first full layer\\): (\\d+) pages in use, (\\d+) free, (\\d+) allocated, peak (\\d+)").matcher(o);
        assertTrue(pool.find(), o);
        int inUse = Integer.parseInt(pool.group(1)), free = Integer.parseInt(pool.group(2)), allocated = Integer.parseInt(pool.group(3));
        assertEquals(allocated, inUse + free, o);
        assertTrue(allocated <= Integer.parseInt(pool.group(4)) + 1, "freed pages are reused, not allocated anew: " + o);
        assertTrue(o.contains("KV per sequence"), o);
        assertTrue(o.matches("(?s).*window rings \\(first sparse layer\\): \\d+ in use, \\d+ allocated.*"), o);
        Result bad = run("serve", "--batch", "0");
        assertEquals(2, bad.code());
        assertTrue(bad.err().startsWith("hysparse: --batch: expected >= 1 but got 0"), bad.err());
    }

    @Test
    void runWritesAnHtmlReportWithThreeCharts(@TempDir Path dir) throws Exception {
        Result r = run(small("--report", dir.toString()));
        assertEquals(0, r.code(), r.err());
        String html = Files.readString(dir.resolve("index.html"));
        assertEquals(3, html.split("<img ").length - 1, "three charts");
        assertTrue(html.contains("data:image/png;base64,"));
        assertTrue(html.contains("KV memory vs context length"));
    }

    @Test
    void badInputIsOneLineWithExitCode2() {
        for (String[] args : new String[][] {
                {"run", "--heads", "32/6"}, {"run", "--backend", "nope"}, {"run", "--context", "lots"},
                {"run", "--pattern", "SFF"}, {"run", "--block", "48"}, {"run", "--kv", "fp8"}, {"conformance", "--backend", "nope"},
                {"run", "--delta", "0.1"}, {"run", "--scores", "peak"}, {"run", "--preset", "nope"}}) {
            Result r = run(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            assertFalse(r.err().contains("\tat org."), "no stack trace without --verbose: " + r.err());
        }
        Result heads = run("run", "--heads", "32/6");
        assertTrue(heads.err().startsWith("hysparse: --heads: expected Hq/Hkv with Hq a multiple of Hkv but got 32/6"), heads.err());
        Result nope = run("run", "--backend", "nope");
        assertTrue(nope.err().contains("'nope'") && nope.err().contains("reference (priority 0, available"), nope.err());
        Result delta = run("run", "--delta", "0.1");
        assertTrue(delta.err().startsWith("hysparse: --delta: expected --scores mass"), delta.err());
        Result preset = run("run", "--preset", "nope");
        assertTrue(preset.err().startsWith("hysparse: preset: expected one of [hysparse-80b, hysparse-7b] but got 'nope'"), preset.err());
        Result verbose = run("run", "--heads", "32/6", "--verbose");
        assertTrue(verbose.err().contains("\tat org."), "--verbose shows the stack trace: " + verbose.err());
    }

    @Test
    void conformancePassesForAGoodBackendAndFailsForABrokenOne(@TempDir Path dir) throws Exception {
        Result good = run("conformance", "--backend", "cpu", "--kv", "fp32,bf16", "--junit-xml", dir.toString());
        assertEquals(0, good.code(), good.out() + good.err());
        assertTrue(good.out().contains("cpu [fp32]: 27 passed, 0 failed, 0 skipped"), good.out());
        assertTrue(good.out().contains("cpu [bf16]: 27 passed, 0 failed, 0 skipped"), good.out());
        assertTrue(good.out().contains("conformance: PASSED"));
        assertTrue(Files.readString(dir.resolve("TEST-hysparse.conformance.cpu.fp32.xml")).contains("failures=\"0\""));
        // --all: the runner finds every provider on this classpath; the broken one must fail by rule.
        Result all = run("conformance", "--all", "--kv", "fp32");
        assertEquals(1, all.code(), all.out());
        assertTrue(all.out().contains("reference [fp32]: 27 passed, 0 failed, 0 skipped"), all.out());
        assertTrue(all.out().contains("cpu [fp32]: 27 passed, 0 failed, 0 skipped"), all.out());
        assertTrue(all.out().contains("broken-scale [fp32]:"), all.out());
        assertTrue(all.out().contains("FAILED  HS-ORACLE-1"), all.out());
        assertTrue(all.out().contains("conformance: FAILED"), all.out());
    }

    @Test
    void benchComparesBackendsSideBySide() {
        Result r = run("bench", "--backends", "cpu,reference", "--context", "512", "--decode", "2", "--prefill", "8", "--layers", "4",
                "--full", "1", "--heads", "4/2", "--dim", "32", "--topk", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("(baseline)"), r.out());
        Matcher m = Pattern.compile("(?m)^cpu\\s+([0-9.]+)\\s.*\\s([0-9.]+e[-+][0-9]+)\\s*$").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(Double.parseDouble(m.group(2)) < 1e-3, "cpu and reference agree on identical inputs: " + m.group(2));
    }

    @Test
    void benchWritesAReportAndRejectsUnknownBackends(@TempDir Path dir) throws Exception {
        Result r = run("bench", "--backends", "cpu", "--context", "512", "--decode", "1", "--prefill", "4", "--layers", "2",
                "--full", "1", "--heads", "4/2", "--dim", "16", "--topk", "2", "--report", dir.toString());
        assertEquals(0, r.code(), r.err());
        String html = Files.readString(dir.resolve("index.html"));
        assertTrue(html.contains("Backends side by side") && html.contains("decode tok/s"), html.substring(0, 400));
        Result bad = run("bench", "--backends", "cpu,nope");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().startsWith("hysparse: backend: expected one of"), bad.err());
    }

    @Test
    void runReportsTheDeviceItsOptionsPicked() {
        Result json = run(small("--backend", "cpu", "--options", "threads=1", "--json"));
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().contains("\"device\": \"CPU (") && json.out().contains("1 thread of"), json.out());
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": ([-0-9.eE+]+)").matcher(json);
        assertTrue(m.find(), name + " missing in " + json);
        return m.group(1);
    }

    private static java.util.List<String> all(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": ([-0-9.eE+]+)").matcher(json);
        java.util.List<String> out = new java.util.ArrayList<>();
        while (m.find()) out.add(m.group(1));
        assertFalse(out.isEmpty(), name);
        return out;
    }
}
