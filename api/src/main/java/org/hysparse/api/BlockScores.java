package org.hysparse.api;

import java.util.Objects;

/**
 * Block importance {@code S[h][qb][j]} (SPEC 1) in the given {@link ScoreMode}: over the rows of query
 * block {@code qb} and the query heads of KV head {@code h}'s group, the largest probability of one key
 * in KV block {@code j} ({@code MAX}) or the largest mass on the block ({@code MASS}). Stored flat,
 * {@code data[(h * queryBlocks.count() + qb) * kvBlocks + j]}.
 */
public record BlockScores(ScoreMode mode, BlockGeometry geometry, QueryBlocks queryBlocks, int kvHeads, int kvBlocks,
                          float[] data) {
    public BlockScores {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(queryBlocks, "queryBlocks");
        Checks.positive("kvHeads", kvHeads);
        Checks.positive("kvBlocks", kvBlocks);
        Checks.length("scores", data, (long) kvHeads * queryBlocks.count() * kvBlocks,
                "[" + kvHeads + "][" + queryBlocks.count() + "][" + kvBlocks + "]");
    }

    public static BlockScores allocate(ScoreMode mode, BlockGeometry geometry, QueryBlocks queryBlocks, int kvHeads,
                                       int kvBlocks) {
        return new BlockScores(mode, geometry, queryBlocks, kvHeads, kvBlocks,
                Allocation.floats("scores", (long) kvHeads * queryBlocks.count() * kvBlocks,
                        "[" + kvHeads + "][" + queryBlocks.count() + "][" + kvBlocks + "]"));
    }

    public int index(int h, int qb, int j) {
        return (h * queryBlocks.count() + qb) * kvBlocks + j;
    }

    public float get(int h, int qb, int j) {
        return data[index(h, qb, j)];
    }
}
