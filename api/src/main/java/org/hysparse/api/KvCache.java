package org.hysparse.api;

import java.util.ArrayList;
import java.util.List;

/**
 * A full attention layer's KV cache, paged in blocks of {@code blockSize} tokens, each page head-major
 * ({@code [kvHead][slot][headDim]}) so that one head's block is contiguous. Appending allocates a
 * new page only when the last one is full and never moves existing pages, so {@link KvCacheView}s and
 * device mirrors of earlier blocks stay valid. Not safe for appends concurrent with reads.
 */
public final class KvCache implements KvSource, AutoCloseable {
    private final int kvHeads;
    private final int headDim;
    private final int blockSize;
    private final KvPrecision precision;
    private final List<KvPage> keys = new ArrayList<>();
    private final List<KvPage> values = new ArrayList<>();
    private final KvCacheView view = new KvCacheView(this);
    private int length;
    private boolean closed;

    public KvCache(int kvHeads, int headDim, int blockSize, KvPrecision precision) {
        Checks.positive("kvHeads", kvHeads);
        Checks.positive("headDim", headDim);
        Checks.blockSize("blockSize", blockSize);
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blockSize = blockSize;
        this.precision = java.util.Objects.requireNonNull(precision, "precision");
    }

    /**
     * Appends {@code tokens} rows of keys and values, each laid out {@code [tokens][kvHeads][headDim]}.
     * Validates everything first: on error nothing is appended.
     */
    public void append(float[] k, float[] v, int tokens) {
        ensureOpen();
        Checks.positive("tokens", tokens);
        int rowElems = kvHeads * headDim;
        Checks.length("k", k, (long) tokens * rowElems, "[" + tokens + "][" + kvHeads + "][" + headDim + "]");
        Checks.length("v", v, (long) tokens * rowElems, "[" + tokens + "][" + kvHeads + "][" + headDim + "]");
        Checks.finite("k", k, tokens * rowElems);
        Checks.finite("v", v, tokens * rowElems);
        for (int i = 0; i < tokens; i++) {
            int slot = length % blockSize;
            if (slot == 0) {
                keys.add(KvPage.allocate(precision, blockSize * rowElems));
                values.add(KvPage.allocate(precision, blockSize * rowElems));
            }
            int page = length / blockSize;
            for (int h = 0; h < kvHeads; h++) {
                KvPage.write(keys.get(page), offset(length, h), k, i * rowElems + h * headDim, headDim);
                KvPage.write(values.get(page), offset(length, h), v, i * rowElems + h * headDim, headDim);
            }
            length++;
        }
    }

    /** The read-only view sparse layers attend through. Always the same object; it holds no storage. */
    public KvCacheView view() {
        ensureOpen();
        return view;
    }

    @Override public int length() { ensureOpen(); return length; }
    @Override public int firstPosition() { return 0; }
    @Override public int kvHeads() { return kvHeads; }
    @Override public int headDim() { return headDim; }
    @Override public KvPrecision precision() { return precision; }
    public int blockSize() { return blockSize; }

    /** Number of KV blocks, the last possibly partial. */
    public int blockCount() { return (length() + blockSize - 1) / blockSize; }

    @Override public KvPage keyPage(int position) { return keys.get(checkPosition(position) / blockSize); }
    @Override public KvPage valuePage(int position) { return values.get(checkPosition(position) / blockSize); }

    /** Key page {@code block} (block {@code j} holds positions {@code j*B .. j*B+B-1}). */
    public KvPage keyBlock(int block) { ensureOpen(); return keys.get(block); }
    public KvPage valueBlock(int block) { ensureOpen(); return values.get(block); }

    @Override
    public int offset(int position, int kvHead) {
        return (kvHead * blockSize + position % blockSize) * headDim;
    }

    /** KV bytes as SPEC 4 counts them: {@code 2 * T * Hkv * D * bytes}. */
    public long bytes() {
        return KvBudget.cacheBytes(length(), kvHeads, headDim, precision);
    }

    /** Bytes actually allocated: whole pages, so up to one block more than {@link #bytes()}. */
    public long reservedBytes() {
        return KvBudget.cacheBytes((long) keys.size() * blockSize, kvHeads, headDim, precision);
    }

    private int checkPosition(int position) {
        ensureOpen();
        if (position < 0 || position >= length) {
            throw new IndexOutOfBoundsException("position: expected 0.." + (length - 1) + " but got " + position);
        }
        return position;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("KV cache is closed");
    }

    boolean isClosed() { return closed; }

    /** Releases the pages. Views of this cache fail from now on. */
    @Override
    public void close() {
        closed = true;
        keys.clear();
        values.clear();
    }
}
