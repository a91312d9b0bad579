package org.hysparse.api;

import java.util.Objects;

/**
 * SPEC 3: a sparse layer's attention. {@code shared} is the full layer's cache seen through its view
 * (the same memory); {@code swa} is the layer's own window cache ({@code null} only when
 * {@code window == 0}); {@code out = gateSel (.) oSel + gateSwa (.) oSwa}.
 *
 * <p>Each gate is either per head {@code [Lq][Hq]} or per channel {@code [Lq][Hq][D]} (the paper's
 * elementwise gate, Eq. 8-9); the shape is told by the length, and the two gates may differ. The sink
 * logits {@code sinkSel[Hq]} and {@code sinkSwa[Hq]} (the paper's per-head learnable sinks, one per
 * branch) are optional: {@code null} means none.
 *
 * <p>{@code SparseRequest.of(q, view, sel, swa, W, gSel, gSwa).withSinks(sSel, sSwa)} is the paper's layer.
 */
public record SparseRequest(Queries queries, KvCacheView shared, BlockSelection selection, SwaCache swa,
                            int window, float[] gateSel, float[] gateSwa, float scale, float[] sinkSel,
                            float[] sinkSwa) {
    public SparseRequest {
        Objects.requireNonNull(queries, "queries");
        Objects.requireNonNull(shared, "shared");
        Objects.requireNonNull(selection, "selection");
        Objects.requireNonNull(gateSel, "gateSel");
        Objects.requireNonNull(gateSwa, "gateSwa");
    }

    /** Without sink logits. */
    public SparseRequest(Queries queries, KvCacheView shared, BlockSelection selection, SwaCache swa, int window,
                         float[] gateSel, float[] gateSwa, float scale) {
        this(queries, shared, selection, swa, window, gateSel, gateSwa, scale, null, null);
    }

    /** Default scale {@code 1/sqrt(D)}, no sink logits. */
    public static SparseRequest of(Queries queries, KvCacheView shared, BlockSelection selection, SwaCache swa,
                                   int window, float[] gateSel, float[] gateSwa) {
        return new SparseRequest(queries, shared, selection, swa, window, gateSel, gateSwa, queries.defaultScale());
    }

    /** Per-head sink logits of the selected and window branches ({@code null} for none). */
    public SparseRequest withSinks(float[] selSink, float[] swaSink) {
        return new SparseRequest(queries, shared, selection, swa, window, gateSel, gateSwa, scale, selSink, swaSink);
    }

    /** Elements per (row, head) of {@code gate}: 1 for a per-head gate, {@code D} for a per-channel one. */
    public int gateWidth(float[] gate) {
        return gate.length == queries.rows() * queries.heads() ? 1 : queries.headDim();
    }

    /**
     * Gate value of row-head {@code rowHead = i * Hq + g} at channel {@code d}, for a gate of
     * {@code width} = {@link #gateWidth}.
     */
    public static float gate(float[] gate, int width, int rowHead, int d) {
        return width == 1 ? gate[rowHead] : gate[rowHead * width + d];
    }
}
