package org.hysparse.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The HySparse operator contract (SPEC.md). Every operation validates its inputs with {@link Checks}
 * before touching any output, and throws {@link IllegalArgumentException} naming the argument, the
 * expected and the actual value; caches and caller buffers are then unchanged. Instances are safe for
 * concurrent calls on distinct outputs.
 */
public interface AttentionBackend extends AutoCloseable {

    /** The provider name, e.g. {@code reference} or {@code cpu}. */
    String name();

    /** KV storage precisions this backend reads. */
    Set<KvPrecision> precisions();

    /**
     * Human description of the device this instance runs on, as created: options may pick another device or
     * thread count than the one {@link AttentionBackendProvider#device()} describes (its default). Empty when the
     * provider's description holds for every instance; {@link Backends#device} takes the one that applies.
     */
    default String device() {
        return "";
    }

    /** SPEC 1: exact causal attention into {@code output.out()}, block scores into {@code output.scores()}. */
    void oracle(OracleRequest request, OracleOutput output);

    /** SPEC 2: TopK or mass-targeted block selection. */
    BlockSelection select(SelectionRequest request);

    /** SPEC 3: sparse attention over the shared cache view plus the SWA branch, gated, into {@code out[Lq][Hq][D]}. */
    void sparse(SparseRequest request, float[] out);

    /**
     * SPEC 1 then SPEC 2 in one call: the oracle into {@code output}, then the selection {@code policy} makes from its
     * scores. Both are checked before either runs (a mass target over {@code MAX} scores is refused before the
     * oracle writes anything). The default composes {@link #oracle(OracleRequest, OracleOutput)} and
     * {@link #select(SelectionRequest)}; a device backend overrides it to keep the scores on the device between the
     * two (the scores are still written to {@code output}).
     */
    default BlockSelection oracleAndSelect(OracleRequest request, OracleOutput output, SelectionPolicy policy) {
        Checks.oracle(request, output);
        Checks.policyFor(request.scores(), policy);
        oracle(request, output);
        return select(new SelectionRequest(output.scores(), policy));
    }

    /** SPEC 5: max and mean dropped mass of a selection under the full layer's probabilities. */
    DroppedMass droppedMass(DroppedMassRequest request);

    /** Oracle into freshly allocated outputs. */
    default OracleOutput oracle(OracleRequest request) {
        Checks.oracle(request);
        OracleOutput output = OracleOutput.allocate(request);
        oracle(request, output);
        return output;
    }

    /** Sparse attention into a freshly allocated output. */
    default float[] sparse(SparseRequest request) {
        Queries q = request.queries();
        float[] out = Allocation.floats("out", (long) q.rows() * q.heads() * q.headDim(), "[Lq][Hq][D]");
        sparse(request, out);
        return out;
    }

    /**
     * Continuous batching: one oracle call per request, into {@code outputs[i]}, after {@link Checks#oracleBatch}
     * has checked all of them (so an invalid request leaves every output untouched). The default runs them one
     * after another; a backend overrides it to run them as one piece of work.
     */
    default void oracle(OracleBatch batch, List<OracleOutput> outputs) {
        Checks.oracleBatch(batch, outputs);
        for (int i = 0; i < batch.size(); i++) oracle(batch.get(i), outputs.get(i));
    }

    /** A batch of oracle calls into freshly allocated outputs. */
    default List<OracleOutput> oracle(OracleBatch batch) {
        List<OracleOutput> outputs = new ArrayList<>();
        if (batch != null) for (OracleRequest r : batch.requests()) outputs.add(OracleOutput.allocate(r));
        oracle(batch, outputs);
        return outputs;
    }

    /** Selections for many sequences' scores, checked all before any is made; selection is cheap, so one by one. */
    default List<BlockSelection> select(List<SelectionRequest> requests) {
        Checks.selections(requests);
        List<BlockSelection> out = new ArrayList<>();
        for (SelectionRequest r : requests) out.add(select(r));
        return out;
    }

    /** Continuous batching of sparse calls, as {@link #oracle(OracleBatch, List)}. */
    default void sparse(SparseBatch batch, List<float[]> outputs) {
        Checks.sparseBatch(batch, outputs);
        for (int i = 0; i < batch.size(); i++) sparse(batch.get(i), outputs.get(i));
    }

    /** A batch of sparse calls into freshly allocated outputs. */
    default List<float[]> sparse(SparseBatch batch) {
        List<float[]> outputs = new ArrayList<>();
        if (batch != null) {
            for (SparseRequest r : batch.requests()) outputs.add(Allocation.floats("out",
                    (long) r.queries().rows() * r.queries().heads() * r.queries().headDim(), "[Lq][Hq][D]"));
        }
        sparse(batch, outputs);
        return outputs;
    }

    /**
     * Bytes of device memory this backend holds now (caches it mirrors, plans' buffers); 0 for a backend that
     * keeps everything in the caller's heap. Mirrors of closed caches are freed at their close, not later.
     */
    default long deviceMemoryBytes() {
        return 0L;
    }

    /** Releases threads or device memory. */
    @Override
    void close();
}
