package org.hysparse.api;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One sparse layer's window rings for many sequences (continuous batching): ring buffers of {@code capacity}
 * tokens ({@code W}, the window), handed to sequences by {@link #newRing()} and taken back at their close for the
 * next one, as a {@link KvPool} does with full-layer pages. A ring that {@link SwaCache#shrink shrinks} to another
 * capacity leaves the pool. Closing the pool closes every ring it handed out.
 */
public final class SwaPool implements AutoCloseable {
    private final int kvHeads;
    private final int headDim;
    private final int capacity;
    private final KvPrecision precision;
    private final ArrayDeque<KvPage[]> free = new ArrayDeque<>();
    private final List<SwaCache> rings = new ArrayList<>();
    private int allocated;
    private boolean closed;

    public SwaPool(int kvHeads, int headDim, int capacity, KvPrecision precision) {
        Checks.positive("kvHeads", kvHeads);
        Checks.positive("headDim", headDim);
        Checks.positive("capacity", capacity);
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.capacity = capacity;
        this.precision = Objects.requireNonNull(precision, "precision");
    }

    /** An empty ring: a free buffer pair if there is one, else a new one. */
    public synchronized SwaCache newRing() {
        if (closed) throw new IllegalStateException("SWA pool is closed");
        KvPage[] kv = free.poll();
        if (kv == null) {
            kv = new KvPage[] {KvPage.allocate(precision, capacity * kvHeads * headDim), KvPage.allocate(precision, capacity * kvHeads * headDim)};
            allocated++;
        }
        SwaCache ring = new SwaCache(this, kv[0], kv[1]);
        rings.add(ring);
        return ring;
    }

    public int kvHeads() { return kvHeads; }
    public int headDim() { return headDim; }
    public int capacity() { return capacity; }
    public KvPrecision precision() { return precision; }

    /** Rings handed out and open. */
    public synchronized int ringsInUse() { return rings.size(); }

    /** Buffer pairs ever allocated: the pool's memory is this many rings. */
    public synchronized int ringsAllocated() { return allocated; }

    /** Closes every ring and drops every buffer. */
    @Override
    public synchronized void close() {
        if (closed) return;
        for (SwaCache ring : List.copyOf(rings)) ring.close();
        closed = true;
        free.clear();
    }

    synchronized void giveBack(SwaCache ring, KvPage keys, KvPage values) {
        rings.remove(ring);
        if (!closed) free.add(new KvPage[] {keys, values});
    }
}
