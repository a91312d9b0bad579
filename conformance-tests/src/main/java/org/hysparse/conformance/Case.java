package org.hysparse.conformance;

import org.hysparse.api.BlockGeometry;

/**
 * One generated test case: shapes, selection budget, window and data pattern, reproducible from
 * {@code seed}. {@code rows == 1} is decode; more rows are a prefill tail ending at {@code tokens - 1}.
 */
public record Case(String name, long seed, int hq, int hkv, int dim, int block, int queryBlock, int tokens, int rows,
                   int k, int window, Pattern pattern) {

    public BlockGeometry geometry() {
        return new BlockGeometry(block, queryBlock);
    }

    public int kvBlocks() {
        return (tokens + block - 1) / block;
    }

    /** The block the NEEDLE pattern plants: early enough that only its score can get it selected. */
    public int needleBlock() {
        return Math.max(1, kvBlocks() / 3);
    }

    /** Parameters as printed in every failure message. */
    public String describe() {
        return name + "{seed=" + seed + ", Hq/Hkv=" + hq + "/" + hkv + ", D=" + dim + ", B=" + block + ", Bq=" + queryBlock
                + ", T=" + tokens + ", Lq=" + rows + ", k=" + k + ", W=" + window + ", " + pattern + "}";
    }
}
