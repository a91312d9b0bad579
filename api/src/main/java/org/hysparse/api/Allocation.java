package org.hysparse.api;

/**
 * Allocation of the library's large buffers, checked before it happens: a size past the largest Java array is an
 * {@link IllegalArgumentException} naming the shape, and an exhausted heap an {@link OutOfHeapException} naming
 * the bytes, instead of an overflowed size or a raw {@link OutOfMemoryError}.
 */
public final class Allocation {
    /** The largest array length every JVM allows (a few header words below {@code Integer.MAX_VALUE}). */
    public static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    /**
     * A little heap held back for the moment an allocation fails: released first, so that the exception that
     * reports the failure (its message, its stack trace) can itself be allocated, then taken again.
     */
    private static volatile byte[] reserve = new byte[1 << 16];

    private Allocation() {
    }

    /** Loads this class (and takes its reserve) now, while the heap has room: called by the classes that allocate KV. */
    static void ready() {
    }

    /** Frees the held-back heap; call first thing when catching an {@link OutOfMemoryError}. */
    static void releaseReserve() {
        reserve = null;
    }

    /** Takes the held-back heap again if it can be had, and returns {@code e} for the caller to throw. */
    static <E extends RuntimeException> E rearmed(E e) {
        try {
            if (reserve == null) reserve = new byte[1 << 16];
        } catch (OutOfMemoryError stillFull) {
            // Nothing to do: the next failure reports without the cushion.
        }
        return e;
    }

    /** A new {@code float[n]} for {@code name} of {@code shape} (e.g. "[Lq][Hq][D]"), checked as above. */
    public static float[] floats(String name, long n, String shape) {
        if (n < 0 || n > MAX_ARRAY) {
            throw new IllegalArgumentException(name + ": expected at most " + MAX_ARRAY + " elements but " + shape + " is " + n
                    + " (" + human(4 * n) + "); split the request (fewer rows, or a larger query block)");
        }
        try {
            return new float[(int) n];
        } catch (OutOfMemoryError e) {
            releaseReserve();
            throw rearmed(new OutOfHeapException(name + " " + shape, 4 * n));
        }
    }

    /** Bytes as a short human figure: 1.5 GiB, 12.0 MiB, 512 B. */
    public static String human(long bytes) {
        if (bytes >= 1L << 30) return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        if (bytes >= 1L << 10) return String.format(java.util.Locale.ROOT, "%.1f KiB", bytes / (double) (1L << 10));
        return bytes + " B";
    }
}
