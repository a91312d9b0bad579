package org.hysparse.api;

import java.util.Objects;

/** SPEC 5: attention mass of the full layer's rows that {@code selection} leaves out. */
public record DroppedMassRequest(Queries queries, KvSource kv, BlockSelection selection, float scale) {
    public DroppedMassRequest {
        Objects.requireNonNull(queries, "queries");
        Objects.requireNonNull(kv, "kv");
        Objects.requireNonNull(selection, "selection");
    }

    public static DroppedMassRequest of(Queries queries, KvSource kv, BlockSelection selection) {
        return new DroppedMassRequest(queries, kv, selection, queries.defaultScale());
    }
}
