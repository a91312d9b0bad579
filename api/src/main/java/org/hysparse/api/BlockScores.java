package org.hysparse.api;

import java.util.Objects;

/**
 * Block importance {@code S[h][qb][j]} (SPEC 1): the largest attention mass any row of query block
 * {@code qb} and any query head of KV head {@code h}'s group puts on KV block {@code j}. Stored flat,
 * {@code data[(h * queryBlocks.count() + qb) * kvBlocks + j]}.
 */
public record BlockScores(BlockGeometry geometry, QueryBlocks queryBlocks, int kvHeads, int kvBlocks, float[] data) {
    public BlockScores {
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(queryBlocks, "queryBlocks");
        Checks.positive("kvHeads", kvHeads);
        Checks.positive("kvBlocks", kvBlocks);
        Checks.length("scores", data, (long) kvHeads * queryBlocks.count() * kvBlocks,
                "[" + kvHeads + "][" + queryBlocks.count() + "][" + kvBlocks + "]");
    }

    public static BlockScores allocate(BlockGeometry geometry, QueryBlocks queryBlocks, int kvHeads, int kvBlocks) {
        return new BlockScores(geometry, queryBlocks, kvHeads, kvBlocks, new float[kvHeads * queryBlocks.count() * kvBlocks]);
    }

    public int index(int h, int qb, int j) {
        return (h * queryBlocks.count() + qb) * kvBlocks + j;
    }

    public float get(int h, int qb, int j) {
        return data[index(h, qb, j)];
    }
}
