package org.hysparse.api;

import java.util.Objects;

/** SPEC 1: exact causal attention of {@code queries} over {@code kv}, emitting block scores. */
public record OracleRequest(Queries queries, KvSource kv, BlockGeometry geometry, float scale) {
    public OracleRequest {
        Objects.requireNonNull(queries, "queries");
        Objects.requireNonNull(kv, "kv");
        Objects.requireNonNull(geometry, "geometry");
    }

    /** With the default scale {@code 1/sqrt(D)}. */
    public static OracleRequest of(Queries queries, KvSource kv, BlockGeometry geometry) {
        return new OracleRequest(queries, kv, geometry, queries.defaultScale());
    }

    public QueryBlocks queryBlocks() {
        return QueryBlocks.of(queries.positions(), geometry.queryBlockSize());
    }
}
