package org.hysparse.api;

import java.util.Objects;

/**
 * Selected KV blocks per KV head and query block (SPEC 2): {@code blocks[h * queryBlocks.count() + qb]}
 * is an ascending array of block indices.
 */
public record BlockSelection(BlockGeometry geometry, QueryBlocks queryBlocks, int kvHeads, int[][] blocks) {
    public BlockSelection {
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(queryBlocks, "queryBlocks");
        Checks.positive("kvHeads", kvHeads);
        Objects.requireNonNull(blocks, "blocks");
        if (blocks.length != kvHeads * queryBlocks.count()) {
            throw new IllegalArgumentException("selection: expected " + kvHeads * queryBlocks.count()
                    + " lists [" + kvHeads + "][" + queryBlocks.count() + "] but got " + blocks.length);
        }
    }

    public int[] blocks(int h, int qb) {
        return blocks[h * queryBlocks.count() + qb];
    }
}
