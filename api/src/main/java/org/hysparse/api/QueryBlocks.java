package org.hysparse.api;

/**
 * Query rows grouped by position into blocks of {@code Bq}: block {@code first + i} covers positions
 * {@code [(first+i)*Bq, (first+i+1)*Bq)}. {@code lastPosition[i]} is the largest row position in it, or
 * -1 when no row falls there; it bounds which KV blocks the query block can see.
 */
public record QueryBlocks(int first, int count, int[] lastPosition) {

    public static QueryBlocks of(int[] positions, int queryBlockSize) {
        int first = positions[0] / queryBlockSize;
        int count = positions[positions.length - 1] / queryBlockSize - first + 1;
        int[] last = new int[count];
        java.util.Arrays.fill(last, -1);
        for (int p : positions) last[p / queryBlockSize - first] = p;
        return new QueryBlocks(first, count, last);
    }

    /** Relative query block of a row at {@code position}. */
    public int indexOf(int position, int queryBlockSize) {
        return position / queryBlockSize - first;
    }

    /**
     * Rows {@code start[qb] .. start[qb+1]-1} of {@code positions} fall in query block {@code qb}: positions
     * increase, so each block's rows are contiguous. Length {@code count() + 1}.
     */
    public int[] rowStarts(int[] positions, int queryBlockSize) {
        int[] start = new int[count + 1];
        int row = 0;
        for (int qb = 0; qb < count; qb++) {
            start[qb] = row;
            while (row < positions.length && indexOf(positions[row], queryBlockSize) == qb) row++;
        }
        start[count] = row;
        return start;
    }

    /** KV blocks visible to query block {@code qb}: {@code 0 .. visible-1}. */
    public int visibleBlocks(int qb, int blockSize) {
        return lastPosition[qb] < 0 ? 0 : lastPosition[qb] / blockSize + 1;
    }
}
