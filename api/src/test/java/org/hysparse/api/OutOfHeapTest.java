package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An exhausted heap while appending: a named exception with the bytes and remedies, the cache unchanged. */
class OutOfHeapTest {
    @Test
    void appendingPastTheHeapFailsCleanlyAndLeavesTheCache() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-Xmx96m", "-cp", System.getProperty("java.class.path"), HeapProbe.class.getName()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.startsWith("INTACT "), out);
        assertTrue(out.contains("kv: appending 1024 tokens") && out.contains("bytes") && out.contains("remedies")
                && out.contains("-Xmx"), out);
    }

    @Test
    void aBufferPastTheLargestArrayIsRefusedNamingItsShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Allocation.floats("scores", 3L << 30, "[8][131072][3072]"));
        assertTrue(e.getMessage().startsWith("scores: expected at most ") && e.getMessage().contains("[8][131072][3072]"), e.getMessage());
    }
}
