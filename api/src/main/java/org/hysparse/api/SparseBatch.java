package org.hysparse.api;

import java.util.List;
import java.util.Objects;

/**
 * Many sequences' sparse-layer calls as one: request {@code i} is one sequence's query rows, the view of its
 * full-layer cache, its selection and its window cache. All views must read sequences of one {@link KvPool}
 * ({@link Checks#sparseBatch}). {@link #rowStarts()} gives the ragged layout of their rows.
 */
public record SparseBatch(List<SparseRequest> requests) {
    public SparseBatch {
        Objects.requireNonNull(requests, "requests");
        requests = List.copyOf(requests);
        if (requests.isEmpty()) throw new IllegalArgumentException("requests: expected at least one request but got none");
    }

    public static SparseBatch of(SparseRequest... requests) {
        return new SparseBatch(List.of(requests));
    }

    public int size() { return requests.size(); }

    public SparseRequest get(int i) { return requests.get(i); }

    /** Request i's query rows are packed rows {@code rowStarts()[i] .. rowStarts()[i + 1] - 1}; length size + 1. */
    public int[] rowStarts() {
        return Queries.rowStarts(requests.stream().map(SparseRequest::queries).toList());
    }
}
