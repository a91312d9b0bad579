package org.hysparse.api;

import java.util.Objects;

/**
 * SPEC 3: a sparse layer's attention. {@code shared} is the full layer's cache seen through its view
 * (the same memory); {@code swa} is the layer's own window cache ({@code null} only when
 * {@code window == 0}); {@code out = gateSel * oSel + gateSwa * oSwa}, gates {@code [Lq][Hq]}.
 */
public record SparseRequest(Queries queries, KvCacheView shared, BlockSelection selection, SwaCache swa,
                            int window, float[] gateSel, float[] gateSwa, float scale) {
    public SparseRequest {
        Objects.requireNonNull(queries, "queries");
        Objects.requireNonNull(shared, "shared");
        Objects.requireNonNull(selection, "selection");
        Objects.requireNonNull(gateSel, "gateSel");
        Objects.requireNonNull(gateSwa, "gateSwa");
    }

    /** Default scale {@code 1/sqrt(D)}. */
    public static SparseRequest of(Queries queries, KvCacheView shared, BlockSelection selection, SwaCache swa,
                                   int window, float[] gateSel, float[] gateSwa) {
        return new SparseRequest(queries, shared, selection, swa, window, gateSel, gateSwa, queries.defaultScale());
    }
}
