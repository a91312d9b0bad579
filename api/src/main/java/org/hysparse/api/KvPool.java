package org.hysparse.api;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One layer's KV memory for many sequences (continuous batching): fixed pages of {@code blockSize} tokens
 * ({@code [kvHead][slot][headDim]}, as a {@link KvCache}'s), handed to the sequences of that layer as they
 * append and taken back when they close. Each sequence is a {@link KvCache} whose block table names pool
 * pages; {@link KvCache#fork()} shares the prefix's pages by reference count (a shared prompt is stored once),
 * and a page still shared when a sequence appends into it is copied first (copy on write). A sparse layer
 * still reads a sequence through its {@link KvCacheView}: the same pages, no copy.
 *
 * <p>Closing a sequence returns its pages at once; closing the pool closes every sequence and drops every
 * page. A pool of at most {@code maxPages} pages refuses an append that would need more, before writing
 * anything. The pool's own bookkeeping is synchronized, so different sequences of one pool may append from
 * different threads (a sequence itself is not safe for appends concurrent with reads, as any {@link KvCache}).
 */
public final class KvPool implements AutoCloseable {
    static {
        Allocation.ready(); // its reserve must be taken before the heap fills, not when reporting that it has
    }

    private final int kvHeads;
    private final int headDim;
    private final int blockSize;
    private final KvPrecision precision;
    private final int maxPages;
    private final List<KvPage> keys = new ArrayList<>();
    private final List<KvPage> values = new ArrayList<>();
    private final List<Integer> refs = new ArrayList<>();
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final List<KvCache> sequences = new ArrayList<>();
    /** A pool made for one {@link KvCache} (and its forks): it closes with the last of them. */
    private boolean privatePool;
    private volatile boolean closed;

    /** A pool without a page limit. */
    public KvPool(int kvHeads, int headDim, int blockSize, KvPrecision precision) {
        this(kvHeads, headDim, blockSize, precision, Integer.MAX_VALUE);
    }

    public KvPool(int kvHeads, int headDim, int blockSize, KvPrecision precision, int maxPages) {
        Checks.positive("kvHeads", kvHeads);
        Checks.positive("headDim", headDim);
        Checks.blockSize("blockSize", blockSize);
        Checks.positive("maxPages", maxPages);
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blockSize = blockSize;
        this.precision = Objects.requireNonNull(precision, "precision");
        this.maxPages = maxPages;
    }

    /** A new, empty sequence of this pool. */
    public synchronized KvCache newSequence() {
        ensureOpen();
        return new KvCache(this, new int[0], 0);
    }

    public int kvHeads() { return kvHeads; }
    public int headDim() { return headDim; }
    public int blockSize() { return blockSize; }
    public KvPrecision precision() { return precision; }
    public int maxPages() { return maxPages; }

    /** Pages held by at least one sequence. */
    public synchronized int pagesInUse() { return keys.size() - free.size(); }

    /** Pages allocated and free for reuse. */
    public synchronized int freePages() { return free.size(); }

    /** Pages ever allocated (in use or free): the pool's memory. */
    public synchronized int pagesAllocated() { return keys.size(); }

    /** Open sequences. */
    public synchronized int sequences() { return sequences.size(); }

    /** K and V bytes of the pages in use: shared pages count once. */
    public synchronized long bytesInUse() {
        return KvBudget.cacheBytes((long) pagesInUse() * blockSize, kvHeads, headDim, precision);
    }

    private final CloseActions onClose = new CloseActions();

    /**
     * Runs {@code action} once when this pool closes (at once if it already has): how a device backend frees its
     * copy of the pool's pages with it. A pool of one standalone {@link KvCache} closes with that cache.
     */
    public void onClose(Runnable action) {
        onClose.add(action, closed);
    }

    /** Closes every sequence and drops every page. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true; // first: a sequence closed below then hands nothing back to a pool that drops everything
            for (KvCache c : List.copyOf(sequences)) c.close();
            sequences.clear();
            keys.clear();
            values.clear();
            refs.clear();
            free.clear();
        }
        // Outside the lock: an action may take a backend's lock, which may be held by a thread waiting for this pool.
        onClose.runAll();
    }

    public boolean isClosed() { return closed; }

    // ---- for KvCache ----

    // Reads are not synchronized: kernels ask for a page per chunk from many threads at once, and a sequence reads
    // only pages it was handed (after its append, on the thread that appended or one it handed the sequence to).
    KvPage keyPage(int page) { return keys.get(page); }

    KvPage valuePage(int page) { return values.get(page); }

    synchronized int refs(int page) { return refs.get(page); }

    /** Whether {@code n} more pages can be had (free or new). */
    synchronized void ensureRoom(int n) {
        ensureOpen();
        long room = (long) free.size() + maxPages - keys.size();
        if (n > room) {
            throw new IllegalStateException("pool: expected room for " + n + " more pages but got " + room + " (" + pagesInUse()
                    + " of at most " + maxPages + " in use)");
        }
    }

    /**
     * Room for {@code n} more pages, allocated now onto the free list so that the append that follows cannot fail
     * half-way: an exhausted heap is an {@link OutOfHeapException} before the sequence changes, and the pages this
     * call made are dropped again (the heap they took is free for the exception's message and for the caller).
     */
    synchronized void reserve(int n, String what) {
        ensureRoom(n);
        int need = n - free.size(), before = keys.size();
        for (int i = 0; i < need; i++) {
            try {
                keys.add(KvPage.allocate(precision, blockSize * kvHeads * headDim));
                values.add(KvPage.allocate(precision, blockSize * kvHeads * headDim));
            } catch (OutOfMemoryError e) {
                // Undo without allocating (the heap is full): drop this call's pages from the ends of the lists.
                Allocation.releaseReserve();
                while (keys.size() > before) keys.remove(keys.size() - 1);
                while (values.size() > before) values.remove(values.size() - 1);
                while (refs.size() > before) refs.remove(refs.size() - 1);
                while (!free.isEmpty() && free.peekLast() >= before) free.pollLast();
                throw Allocation.rearmed(new OutOfHeapException(what + " (" + need + " more KV pages)",
                        KvBudget.cacheBytes((long) need * blockSize, kvHeads, headDim, precision)));
            }
            refs.add(0);
            free.add(keys.size() - 1);
        }
    }

    /** A page for one holder: a free one (reused), else a new one. */
    synchronized int take() {
        ensureRoom(1);
        Integer p = free.poll();
        if (p == null) {
            keys.add(KvPage.allocate(precision, blockSize * kvHeads * headDim));
            values.add(KvPage.allocate(precision, blockSize * kvHeads * headDim));
            refs.add(0);
            p = keys.size() - 1;
        }
        refs.set(p, 1);
        return p;
    }

    synchronized void share(int page) { refs.set(page, refs.get(page) + 1); }

    synchronized void release(int page) {
        int r = refs.get(page) - 1;
        refs.set(page, r);
        if (r == 0) free.add(page);
    }

    /** A sequence closed: its pool forgets it, and a private pool closes with its last sequence. */
    synchronized void closed(KvCache c) {
        sequences.remove(c);
        if (privatePool && sequences.isEmpty()) close();
    }

    /** A new sequence sharing the pages of {@code table} (each counted once more for it) and {@code length} tokens. */
    synchronized KvCache forked(int[] table, int length) {
        ensureOpen();
        for (int p : table) share(p);
        return new KvCache(this, table, length);
    }

    static KvPool privatePool(int kvHeads, int headDim, int blockSize, KvPrecision precision) {
        KvPool p = new KvPool(kvHeads, headDim, blockSize, precision);
        p.privatePool = true;
        return p;
    }

    synchronized void opened(KvCache c) { sequences.add(c); }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("KV pool is closed");
    }
}
