package org.hysparse.api;

import java.util.Objects;

/**
 * KV memory of a layer layout (SPEC 4): {@code layers} in all, {@code fullLayers} of them full attention
 * owning a cache of {@code tokens}; the others HySparse sparse layers owning only a window of
 * {@code window} tokens and reading the full layer's cache through a view.
 */
public record KvBudget(int layers, int fullLayers, long tokens, int window, int kvHeads, int headDim,
                       KvPrecision precision) {
    public KvBudget {
        Checks.positive("layers", layers);
        if (fullLayers < 1 || fullLayers > layers) {
            throw new IllegalArgumentException("fullLayers: expected 1.." + layers + " but got " + fullLayers);
        }
        if (tokens < 0) throw new IllegalArgumentException("tokens: expected >= 0 but got " + tokens);
        if (window < 0) throw new IllegalArgumentException("window: expected >= 0 but got " + window);
        Checks.positive("kvHeads", kvHeads);
        Checks.positive("headDim", headDim);
        Objects.requireNonNull(precision, "precision");
    }

    /** {@code 2 * tokens * kvHeads * headDim * bytes}: keys and values of one layer. */
    public static long cacheBytes(long tokens, int kvHeads, int headDim, KvPrecision precision) {
        return 2L * tokens * kvHeads * headDim * precision.bytes();
    }

    public int sparseLayers() { return layers - fullLayers; }

    public long fullLayerBytes() { return cacheBytes(tokens, kvHeads, headDim, precision); }

    public long sparseLayerBytes() { return cacheBytes(Math.min(tokens, window), kvHeads, headDim, precision); }

    /** {@code F * full + (L - F) * window}. */
    public long hySparseBytes() { return fullLayers * fullLayerBytes() + (long) sparseLayers() * sparseLayerBytes(); }

    /** Every layer full attention. */
    public long fullAttentionBytes() { return layers * fullLayerBytes(); }

    /** Same F full layers, the rest plain sliding window: equal to HySparse, which adds no KV of its own. */
    public long hybridSwaBytes() { return hySparseBytes(); }

    /** How many times less KV HySparse holds than full attention. */
    public double reductionVsFullAttention() {
        long hs = hySparseBytes();
        return hs == 0 ? 1.0 : (double) fullAttentionBytes() / hs;
    }
}
