package org.hysparse.api;

import java.util.List;
import java.util.Objects;

/**
 * Many sequences' oracle calls as one (continuous batching): request {@code i} is one sequence's query rows
 * over its cache, as a single call takes them. All caches must be sequences of one {@link KvPool} (the layer's),
 * which {@link Checks#oracleBatch} verifies before anything is read. Backends may run the requests as one
 * piece of work; {@link #rowStarts()} gives the ragged layout of their rows (FlashInfer's indptr).
 */
public record OracleBatch(List<OracleRequest> requests) {
    public OracleBatch {
        Objects.requireNonNull(requests, "requests");
        requests = List.copyOf(requests);
        if (requests.isEmpty()) throw new IllegalArgumentException("requests: expected at least one request but got none");
    }

    public static OracleBatch of(OracleRequest... requests) {
        return new OracleBatch(List.of(requests));
    }

    public int size() { return requests.size(); }

    public OracleRequest get(int i) { return requests.get(i); }

    /** Request i's query rows are packed rows {@code rowStarts()[i] .. rowStarts()[i + 1] - 1}; length size + 1. */
    public int[] rowStarts() {
        return Queries.rowStarts(requests.stream().map(OracleRequest::queries).toList());
    }
}
