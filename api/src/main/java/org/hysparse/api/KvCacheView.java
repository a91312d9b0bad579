package org.hysparse.api;

/**
 * A read-only view of a full layer's {@link KvCache}: the same pages, never a copy. Appends to the cache
 * are visible through the view at once. Owns no KV memory ({@link #ownedBytes()} is 0).
 */
public final class KvCacheView implements KvSource {
    private final KvCache cache;

    KvCacheView(KvCache cache) {
        this.cache = cache;
    }

    /** The cache this view reads. */
    public KvCache cache() { return cache; }

    /** True when this view reads exactly {@code other}'s memory. */
    public boolean sharesWith(KvCache other) { return cache == other; }

    @Override public int length() { return cache.length(); }
    @Override public int firstPosition() { return 0; }
    @Override public int kvHeads() { return cache.kvHeads(); }
    @Override public int headDim() { return cache.headDim(); }
    @Override public KvPrecision precision() { return cache.precision(); }
    public int blockSize() { return cache.blockSize(); }
    public int blockCount() { return cache.blockCount(); }
    @Override public KvPage keyPage(int position) { return cache.keyPage(position); }
    @Override public KvPage valuePage(int position) { return cache.valuePage(position); }
    public KvPage keyBlock(int block) { return cache.keyBlock(block); }
    public KvPage valueBlock(int block) { return cache.valueBlock(block); }
    @Override public int offset(int position, int kvHead) { return cache.offset(position, kvHead); }

    /** KV bytes this view owns: none. */
    public long ownedBytes() { return 0L; }
}
