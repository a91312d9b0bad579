package org.hysparse.api;

/**
 * A buffer or KV page the library needed could not be had from the Java heap. Thrown before anything the
 * caller handed in was changed (caches keep their length and contents); the message names the bytes asked
 * for, the heap's limit and the remedies. Never a raw {@link OutOfMemoryError}.
 */
public final class OutOfHeapException extends IllegalStateException {
    private final long bytes;

    public OutOfHeapException(String what, long bytes) {
        super(what + ": needs " + bytes + " bytes (" + Allocation.human(bytes) + ") more of Java heap but the heap is exhausted (max "
                + Allocation.human(Runtime.getRuntime().maxMemory()) + "); remedies: 16-bit KV (fp16 or bf16 halves the KV bytes), "
                + "a larger heap (-Xmx, or HYSPARSE_JAVA_OPTS=-Xmx... for the hysparse command), fewer tokens or sequences");
        this.bytes = bytes;
    }

    /** Bytes the failed allocation asked for. */
    public long bytes() { return bytes; }
}
