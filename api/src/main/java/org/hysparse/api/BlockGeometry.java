package org.hysparse.api;

/**
 * KV block size {@code B} (power of two, 16..256) and query block size {@code Bq} (rows grouped for
 * selection; any power of two 1..4096, default {@code B}).
 */
public record BlockGeometry(int blockSize, int queryBlockSize) {
    public static final int DEFAULT_BLOCK_SIZE = 64;

    public BlockGeometry {
        Checks.blockSize("blockSize", blockSize);
        if (queryBlockSize < 1 || queryBlockSize > 4096 || Integer.bitCount(queryBlockSize) != 1) {
            throw new IllegalArgumentException(
                    "queryBlockSize: expected a power of two in 1..4096 but got " + queryBlockSize);
        }
    }

    public static BlockGeometry of(int blockSize) {
        return new BlockGeometry(blockSize, blockSize);
    }

    /** Number of KV blocks covering {@code tokens} positions. */
    public int kvBlocks(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }
}
