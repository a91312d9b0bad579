package org.hysparse.api;

import java.util.Objects;

/**
 * SPEC 1: exact causal attention of {@code queries} over {@code kv}, emitting block scores in
 * {@code scores} mode. {@code sink} is optional ({@code null} = none): per query head {@code [Hq]}, a
 * logit that joins each row's softmax denominator and carries no value (SPEC 3, "Sink logits").
 *
 * <p>{@code OracleRequest.of(q, cache, geometry)} is the paper's oracle ({@link ScoreMode#MAX}, no sink);
 * {@link #withScores} and {@link #withSink} change one thing each.
 */
public record OracleRequest(Queries queries, KvSource kv, BlockGeometry geometry, float scale, ScoreMode scores,
                            float[] sink) {
    public OracleRequest {
        Objects.requireNonNull(queries, "queries");
        Objects.requireNonNull(kv, "kv");
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(scores, "scores");
    }

    /** {@code MAX} scores (the paper's), no sink. */
    public OracleRequest(Queries queries, KvSource kv, BlockGeometry geometry, float scale) {
        this(queries, kv, geometry, scale, ScoreMode.MAX, null);
    }

    /** With the default scale {@code 1/sqrt(D)}, {@code MAX} scores and no sink. */
    public static OracleRequest of(Queries queries, KvSource kv, BlockGeometry geometry) {
        return new OracleRequest(queries, kv, geometry, queries.defaultScale());
    }

    public OracleRequest withScores(ScoreMode mode) {
        return new OracleRequest(queries, kv, geometry, scale, mode, sink);
    }

    /** {@code sink[Hq]}, or {@code null} for none. */
    public OracleRequest withSink(float[] sinkLogits) {
        return new OracleRequest(queries, kv, geometry, scale, scores, sinkLogits);
    }

    public QueryBlocks queryBlocks() {
        return QueryBlocks.of(queries.positions(), geometry.queryBlockSize());
    }
}
