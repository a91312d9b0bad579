package org.hysparse.api;

import java.util.Objects;

/** SPEC 2: pick blocks from {@code scores} under {@code policy}. */
public record SelectionRequest(BlockScores scores, SelectionPolicy policy) {
    public SelectionRequest {
        Objects.requireNonNull(scores, "scores");
        Objects.requireNonNull(policy, "policy");
    }
}
