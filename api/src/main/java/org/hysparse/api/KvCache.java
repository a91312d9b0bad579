package org.hysparse.api;

/**
 * A full attention layer's KV cache, paged in blocks of {@code blockSize} tokens, each page head-major
 * ({@code [kvHead][slot][headDim]}) so that one head's block is contiguous. Its pages come from a
 * {@link KvPool}: a cache made with the constructor has a pool of its own, one made by
 * {@link KvPool#newSequence()} or {@link #fork()} shares its layer's pool with the other sequences. The block
 * table ({@link #blockTable()}) names the pool pages of blocks {@code 0, 1, ...}. Appending takes a new page
 * only when the last one is full and never moves a page this cache alone holds, so {@link KvCacheView}s and
 * device mirrors stay valid; a page it shares with a fork is copied before it is written (copy on write), with
 * the same contents. Not safe for appends concurrent with reads.
 */
public final class KvCache implements KvSource, AutoCloseable {
    private final KvPool pool;
    private final int kvHeads;
    private final int headDim;
    private final int blockSize;
    private final KvPrecision precision;
    private int[] table;
    private int pages;
    private final KvCacheView view = new KvCacheView(this);
    private int length;
    private boolean closed;
    private final CloseActions onClose = new CloseActions();

    /** A cache with a pool of its own (a sequence that shares pages with no other, unless forked). */
    public KvCache(int kvHeads, int headDim, int blockSize, KvPrecision precision) {
        this(KvPool.privatePool(kvHeads, headDim, blockSize, precision), new int[0], 0);
    }

    /** A sequence of {@code pool} holding the pages of {@code table} (already counted for it) and {@code length} tokens. */
    KvCache(KvPool pool, int[] table, int length) {
        this.pool = pool;
        this.kvHeads = pool.kvHeads();
        this.headDim = pool.headDim();
        this.blockSize = pool.blockSize();
        this.precision = pool.precision();
        this.table = java.util.Arrays.copyOf(table, Math.max(4, table.length));
        this.pages = table.length;
        this.length = length;
        pool.opened(this);
    }

    /**
     * Appends {@code tokens} rows of keys and values, each laid out {@code [tokens][kvHeads][headDim]}.
     * Validates everything first, the pool's room and the heap for its new pages included: on error (an
     * {@link IllegalArgumentException}, a full pool, an {@link OutOfHeapException}) nothing is appended.
     */
    public void append(float[] k, float[] v, int tokens) {
        ensureOpen();
        Checks.positive("tokens", tokens);
        int rowElems = kvHeads * headDim;
        Checks.length("k", k, (long) tokens * rowElems, "[" + tokens + "][" + kvHeads + "][" + headDim + "]");
        Checks.length("v", v, (long) tokens * rowElems, "[" + tokens + "][" + kvHeads + "][" + headDim + "]");
        Checks.finite("k", k, tokens * rowElems);
        Checks.finite("v", v, tokens * rowElems);
        boolean copyLast = length % blockSize != 0 && pool.refs(table[pages - 1]) > 1;
        int newPages = (length + tokens + blockSize - 1) / blockSize - pages;
        pool.reserve(newPages + (copyLast ? 1 : 0), "kv: appending " + tokens + " tokens");
        if (copyLast) copyOnWrite(pages - 1);
        for (int i = 0; i < tokens; i++) {
            int slot = length % blockSize;
            if (slot == 0) addPage(pool.take());
            int page = table[length / blockSize];
            for (int h = 0; h < kvHeads; h++) {
                KvPage.write(pool.keyPage(page), offset(length, h), k, i * rowElems + h * headDim, headDim);
                KvPage.write(pool.valuePage(page), offset(length, h), v, i * rowElems + h * headDim, headDim);
            }
            length++;
        }
    }

    /**
     * A new sequence of the same pool with this one's tokens: its pages are shared (a shared prompt is stored once)
     * until either sequence appends into the partial last one, which is then copied for the writer.
     */
    public KvCache fork() {
        ensureOpen();
        return pool.forked(java.util.Arrays.copyOf(table, pages), length);
    }

    /** The pool this cache's pages come from. */
    public KvPool pool() { return pool; }

    /** Pool page of each block {@code 0 .. blockCount()-1}. */
    public int[] blockTable() {
        ensureOpen();
        return java.util.Arrays.copyOf(table, pages);
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

    @Override public KvPage keyPage(int position) { return pool.keyPage(table[checkPosition(position) / blockSize]); }
    @Override public KvPage valuePage(int position) { return pool.valuePage(table[checkPosition(position) / blockSize]); }

    /** Key page {@code block} (block {@code j} holds positions {@code j*B .. j*B+B-1}). */
    public KvPage keyBlock(int block) { return pool.keyPage(table[checkBlock(block)]); }
    public KvPage valueBlock(int block) { return pool.valuePage(table[checkBlock(block)]); }

    @Override
    public int offset(int position, int kvHead) {
        return (kvHead * blockSize + position % blockSize) * headDim;
    }

    /** KV bytes as SPEC 4 counts them: {@code 2 * T * Hkv * D * bytes}. */
    public long bytes() {
        return KvBudget.cacheBytes(length(), kvHeads, headDim, precision);
    }

    /** Bytes of the pages this cache holds: whole pages, so up to one block more than {@link #bytes()}. */
    public long reservedBytes() {
        ensureOpen();
        return KvBudget.cacheBytes((long) pages * blockSize, kvHeads, headDim, precision);
    }

    private void addPage(int page) {
        if (pages == table.length) table = java.util.Arrays.copyOf(table, 2 * table.length);
        table[pages++] = page;
    }

    /** Block {@code b}'s page is shared: this cache takes a copy of it and lets go of the shared one. */
    private void copyOnWrite(int b) {
        int old = table[b], mine = pool.take();
        copy(pool.keyPage(old), pool.keyPage(mine));
        copy(pool.valuePage(old), pool.valuePage(mine));
        pool.release(old);
        table[b] = mine;
    }

    private static void copy(KvPage from, KvPage to) {
        switch (from) {
            case KvPage.F32 f -> System.arraycopy(f.data(), 0, ((KvPage.F32) to).data(), 0, f.data().length);
            case KvPage.Half h -> System.arraycopy(h.data(), 0, ((KvPage.Half) to).data(), 0, h.data().length);
        }
    }

    private int checkPosition(int position) {
        ensureOpen();
        if (position < 0 || position >= length) {
            throw new IndexOutOfBoundsException("position: expected 0.." + (length - 1) + " but got " + position);
        }
        return position;
    }

    private int checkBlock(int block) {
        ensureOpen();
        if (block < 0 || block >= pages) {
            throw new IndexOutOfBoundsException("block: expected 0.." + (pages - 1) + " but got " + block);
        }
        return block;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("KV cache is closed");
    }

    boolean isClosed() { return closed; }

    /**
     * Runs {@code action} once when this cache closes (at once if it already has): how a device backend frees its
     * copy of the cache with it, not whenever the garbage collector finds the cache.
     */
    public void onClose(Runnable action) {
        onClose.add(action, closed);
    }

    /**
     * Returns the pages to the pool at once (a page shared with a fork stays for it). Views of this cache fail
     * from now on. A cache with a pool of its own closes the pool with its last sequence.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (!pool.isClosed()) {
            for (int i = 0; i < pages; i++) pool.release(table[i]);
            pool.closed(this);
        }
        pages = 0;
        onClose.runAll();
    }
}
