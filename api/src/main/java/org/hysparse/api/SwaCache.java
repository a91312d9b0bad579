package org.hysparse.api;

import java.util.Objects;

/**
 * A sparse layer's own sliding-window KV cache: a ring buffer holding the last {@code capacity} tokens.
 * For decode, {@code capacity = W}. Chunked prefill needs {@code W + chunk - 1}: a chunk's first row
 * still sees {@code W - 1} earlier positions; {@link #shrink(int)} then brings it back to {@code W}.
 */
public final class SwaCache implements KvSource, AutoCloseable {
    private final int kvHeads;
    private final int headDim;
    private final KvPrecision precision;
    private int capacity;
    private KvPage keys;
    private KvPage values;
    private int length;
    private boolean closed;
    /** The pool whose ring buffers this cache holds, or null for buffers of its own. */
    private SwaPool pool;

    public SwaCache(int kvHeads, int headDim, int capacity, KvPrecision precision) {
        Checks.positive("kvHeads", kvHeads);
        Checks.positive("headDim", headDim);
        Checks.positive("capacity", capacity);
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.precision = Objects.requireNonNull(precision, "precision");
        this.capacity = capacity;
        this.keys = KvPage.allocate(precision, capacity * kvHeads * headDim);
        this.values = KvPage.allocate(precision, capacity * kvHeads * headDim);
    }

    /** A ring on buffers of {@code pool}, handed back to it at close. */
    SwaCache(SwaPool pool, KvPage keys, KvPage values) {
        this.kvHeads = pool.kvHeads();
        this.headDim = pool.headDim();
        this.precision = pool.precision();
        this.capacity = pool.capacity();
        this.keys = keys;
        this.values = values;
        this.pool = pool;
    }

    /** Appends {@code tokens} rows; only the last {@code capacity} are kept. Validates first. */
    public void append(float[] k, float[] v, int tokens) {
        ensureOpen();
        Checks.positive("tokens", tokens);
        int rowElems = kvHeads * headDim;
        String shape = "[" + tokens + "][" + kvHeads + "][" + headDim + "]";
        Checks.length("k", k, (long) tokens * rowElems, shape);
        Checks.length("v", v, (long) tokens * rowElems, shape);
        Checks.finite("k", k, tokens * rowElems);
        Checks.finite("v", v, tokens * rowElems);
        int skip = Math.max(0, tokens - capacity);
        for (int i = skip; i < tokens; i++) {
            for (int h = 0; h < kvHeads; h++) {
                int at = offset(length + i, h);
                KvPage.write(keys, at, k, i * rowElems + h * headDim, headDim);
                KvPage.write(values, at, v, i * rowElems + h * headDim, headDim);
            }
        }
        length += tokens;
    }

    /** Keeps only the newest {@code newCapacity} tokens, releasing the rest of the ring. */
    public void shrink(int newCapacity) {
        ensureOpen();
        if (newCapacity < 1 || newCapacity > capacity) {
            throw new IllegalArgumentException("newCapacity: expected 1.." + capacity + " but got " + newCapacity);
        }
        int rowElems = kvHeads * headDim;
        KvPage newKeys = KvPage.allocate(precision, newCapacity * rowElems);
        KvPage newValues = KvPage.allocate(precision, newCapacity * rowElems);
        float[] row = new float[headDim];
        for (int t = Math.max(0, length - newCapacity); t < length; t++) {
            for (int h = 0; h < kvHeads; h++) {
                int from = offset(t, h);
                int to = (h * newCapacity + t % newCapacity) * headDim;
                keys.read(from, row, 0, headDim);
                KvPage.write(newKeys, to, row, 0, headDim);
                values.read(from, row, 0, headDim);
                KvPage.write(newValues, to, row, 0, headDim);
            }
        }
        // A pooled ring of another capacity leaves its pool: its old buffers go back, the new ones are its own.
        if (pool != null) {
            pool.giveBack(this, keys, values);
            pool = null;
        }
        keys = newKeys;
        values = newValues;
        capacity = newCapacity;
    }

    public int capacity() { return capacity; }
    @Override public int length() { ensureOpen(); return length; }
    @Override public int firstPosition() { return Math.max(0, length - capacity); }
    @Override public int kvHeads() { return kvHeads; }
    @Override public int headDim() { return headDim; }
    @Override public KvPrecision precision() { return precision; }
    @Override public KvPage keyPage(int position) { checkPosition(position); return keys; }
    @Override public KvPage valuePage(int position) { checkPosition(position); return values; }
    @Override public int offset(int position, int kvHead) { return (kvHead * capacity + position % capacity) * headDim; }

    /** Bytes of KV held, as SPEC 4 counts them: {@code 2 * min(T, capacity) * Hkv * D * bytes}. */
    public long bytes() {
        return KvBudget.cacheBytes(Math.min(length, capacity), kvHeads, headDim, precision);
    }

    /** Bytes allocated for the ring. */
    public long reservedBytes() {
        return KvBudget.cacheBytes(capacity, kvHeads, headDim, precision);
    }

    private void checkPosition(int position) {
        ensureOpen();
        if (position < firstPosition() || position >= length) {
            throw new IndexOutOfBoundsException("position: expected " + firstPosition() + ".." + (length - 1)
                    + " (window ring of " + capacity + ") but got " + position);
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("SWA cache is closed");
    }

    /** Whether {@link #close} has run: a device backend then frees the ring's slot. */
    public boolean isClosed() { return closed; }

    /** Drops the ring; a pooled ring's buffers go back to its pool at once, for the next sequence. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (pool != null) pool.giveBack(this, keys, values);
        keys = null;
        values = null;
    }
}
