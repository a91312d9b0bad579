package org.hysparse.api;

/**
 * Read access to keys and values by absolute token position. Row {@code (t, h)} of keys is
 * {@code keyPage(t)} at flat index {@code offset(t, h)}, {@code headDim()} elements long; values alike.
 * Pages are head-major ({@code [kvHead][slot][headDim]}): one head's consecutive positions are
 * {@link #positionStride()} apart, so a kernel streams a block of one head as one contiguous run.
 * Implementations are the full-layer cache, a read-only view of it, and the sparse layer's SWA ring.
 */
public sealed interface KvSource permits KvCache, KvCacheView, SwaCache {

    /** Tokens appended so far; positions {@code 0 .. length()-1} exist, of which {@link #firstPosition()} onward are held. */
    int length();

    /** Earliest position still held (0 for a full cache; later for a ring buffer). */
    int firstPosition();

    int kvHeads();

    int headDim();

    KvPrecision precision();

    KvPage keyPage(int position);

    KvPage valuePage(int position);

    /** Flat index of row {@code (position, kvHead)} inside its page. */
    int offset(int position, int kvHead);

    /** Elements between rows {@code (t, h)} and {@code (t + 1, h)} when both lie in the same page. */
    default int positionStride() {
        return headDim();
    }

    /** Key row {@code (position, kvHead)} converted to float into {@code dst[0..headDim)}. */
    default void readKey(int position, int kvHead, float[] dst) {
        keyPage(position).read(offset(position, kvHead), dst, 0, headDim());
    }

    /** Value row {@code (position, kvHead)} converted to float into {@code dst[0..headDim)}. */
    default void readValue(int position, int kvHead, float[] dst) {
        valuePage(position).read(offset(position, kvHead), dst, 0, headDim());
    }
}
