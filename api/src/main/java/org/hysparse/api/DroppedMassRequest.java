package org.hysparse.api;

import java.util.Objects;

/**
 * SPEC 5: attention mass of the full layer's rows that {@code selection} leaves out, under the full
 * layer's probabilities: with its sink logits {@code sink[Hq]} in the denominator when the oracle has
 * them ({@code null} = none), whatever mode its scores were in.
 */
public record DroppedMassRequest(Queries queries, KvSource kv, BlockSelection selection, float scale, float[] sink) {
    public DroppedMassRequest {
        Objects.requireNonNull(queries, "queries");
        Objects.requireNonNull(kv, "kv");
        Objects.requireNonNull(selection, "selection");
    }

    public DroppedMassRequest(Queries queries, KvSource kv, BlockSelection selection, float scale) {
        this(queries, kv, selection, scale, null);
    }

    public static DroppedMassRequest of(Queries queries, KvSource kv, BlockSelection selection) {
        return new DroppedMassRequest(queries, kv, selection, queries.defaultScale());
    }

    /** The oracle's {@code sink[Hq]}, or {@code null} for none. */
    public DroppedMassRequest withSink(float[] sinkLogits) {
        return new DroppedMassRequest(queries, kv, selection, scale, sinkLogits);
    }
}
