package org.hysparse.api;

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

    /** SPEC 1: exact causal attention into {@code output.out()}, block scores into {@code output.scores()}. */
    void oracle(OracleRequest request, OracleOutput output);

    /** SPEC 2: TopK or mass-targeted block selection. */
    BlockSelection select(SelectionRequest request);

    /** SPEC 3: sparse attention over the shared cache view plus the SWA branch, gated, into {@code out[Lq][Hq][D]}. */
    void sparse(SparseRequest request, float[] out);

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
        float[] out = new float[q.rows() * q.heads() * q.headDim()];
        sparse(request, out);
        return out;
    }

    /** Releases threads or device memory. */
    @Override
    void close();
}
