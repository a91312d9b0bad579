package org.hysparse.cli;

import org.hysparse.api.KvBudget;
import org.hysparse.api.KvPrecision;

/**
 * What a run will hold on the Java heap, computed before anything is filled: a run that cannot fit fails at once
 * with one line (bytes needed, bytes available, remedies) instead of minutes of filling and a raw OutOfMemoryError.
 */
final class HeapCheck {
    /** Room kept for everything not counted (the backend's scratch, the JIT, the report). */
    static final long MARGIN = 64L << 20;

    private HeapCheck() {
    }

    /** {@code run}: every full layer's cache at its final length, the windows, and a pass's buffers. */
    static long runBytes(RunConfig c) {
        long tokens = (long) c.context() + c.decode();
        long kv = new KvBudget(c.layers(), c.fullLayers(), tokens, c.prefillWindowCapacity(), c.hkv(), c.dim(), c.kv()).hySparseBytes();
        long rows = Math.max(1, c.prefillRows());
        // Per pass: queries, output, per-channel gates (two) for each layer kept for the report, scores in both modes.
        long perPass = 4L * rows * c.hq() * c.dim() * (2 + 2L * c.layers());
        long scores = 2L * 4 * c.fullLayers() * c.hkv() * ((rows + c.block() - 1) / c.block()) * ((tokens + c.block() - 1) / c.block());
        long fill = 2L * 4 * 2048 * c.hkv() * c.dim();
        return kv + perPass + scores + fill + MARGIN;
    }

    /** {@code serve}: at most {@code batch} sequences of {@code maxTokens} in each full layer's pool, and their rings. */
    static long serveBytes(int layers, int full, int batch, long maxTokens, int window, int hkv, int dim, KvPrecision p) {
        long perSeq = new KvBudget(layers, full, maxTokens, window, hkv, dim, p).hySparseBytes();
        return batch * perSeq + MARGIN;
    }

    /** Throws a one-line failure when {@code bytes} exceed the heap still free for this run. */
    static void require(String what, long bytes) {
        Runtime rt = Runtime.getRuntime();
        long max = rt.maxMemory(), available = max - (rt.totalMemory() - rt.freeMemory());
        if (bytes > available) {
            throw new CliFailure(1, what + " needs about " + ReportFormat.bytes(bytes) + " of Java heap but " + ReportFormat.bytes(available)
                    + " is available (max heap " + ReportFormat.bytes(max) + "); remedies: --kv fp16 (halves the KV bytes), a larger heap "
                    + "(HYSPARSE_JAVA_OPTS=-Xmx<size>), or a shorter --context");
        }
    }
}
