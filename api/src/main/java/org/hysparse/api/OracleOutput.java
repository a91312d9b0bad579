package org.hysparse.api;

/** Caller-owned outputs of the oracle: {@code out[Lq][Hq][D]} and the block scores. Reusable across calls. */
public record OracleOutput(float[] out, BlockScores scores) {

    /** Buffers sized for {@code request}, scores in its mode. */
    public static OracleOutput allocate(OracleRequest request) {
        Queries q = request.queries();
        BlockGeometry g = request.geometry();
        int kvBlocks = Math.max(1, g.kvBlocks(request.kv().length()));
        return new OracleOutput(Allocation.floats("out", (long) q.rows() * q.heads() * q.headDim(), "[Lq][Hq][D]"),
                BlockScores.allocate(request.scores(), g, request.queryBlocks(), request.kv().kvHeads(), kvBlocks));
    }
}
