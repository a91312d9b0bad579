package org.hysparse.api;

import java.util.Objects;

/**
 * Query rows {@code data[rows][heads][headDim]} at absolute positions {@code positions[rows]}, strictly
 * increasing. Prefill: {@code T-Lq .. T-1}; decode: one row at {@code T-1}.
 */
public record Queries(float[] data, int rows, int heads, int headDim, int[] positions) {
    public Queries {
        Objects.requireNonNull(data, "q");
        Objects.requireNonNull(positions, "positions");
        Checks.positive("rows", rows);
        Checks.positive("heads", heads);
        Checks.positive("headDim", headDim);
        Checks.length("q", data, (long) rows * heads * headDim, "[" + rows + "][" + heads + "][" + headDim + "]");
        Checks.length("positions", positions, rows);
        for (int i = 0; i < rows; i++) {
            if (positions[i] < 0 || (i > 0 && positions[i] <= positions[i - 1])) {
                throw new IllegalArgumentException("positions: expected non-negative and strictly increasing but got positions["
                        + i + "] = " + positions[i] + (i > 0 ? " after " + positions[i - 1] : ""));
            }
        }
    }

    /** Rows at the last {@code rows} positions of a cache of {@code tokens}: {@code tokens-rows .. tokens-1}. */
    public static Queries last(float[] data, int rows, int heads, int headDim, int tokens) {
        int[] pos = new int[rows];
        for (int i = 0; i < rows; i++) pos[i] = tokens - rows + i;
        return new Queries(data, rows, heads, headDim, pos);
    }

    /**
     * The ragged layout of several sequences' rows packed one after another (FlashInfer's indptr): sequence i's rows
     * are packed rows {@code starts[i] .. starts[i + 1] - 1}; length {@code size + 1}.
     */
    public static int[] rowStarts(java.util.List<Queries> sequences) {
        int[] starts = new int[sequences.size() + 1];
        for (int i = 0; i < sequences.size(); i++) starts[i + 1] = starts[i] + sequences.get(i).rows();
        return starts;
    }

    /** Flat index of element 0 of row {@code (row, head)}. */
    public int offset(int row, int head) {
        return (row * heads + head) * headDim;
    }

    public int lastPosition() {
        return positions[rows - 1];
    }

    /** The default logit scale {@code 1/sqrt(headDim)}. */
    public float defaultScale() {
        return (float) (1.0 / Math.sqrt(headDim));
    }
}
