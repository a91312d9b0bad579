package org.hysparse.api;

/**
 * What a block score {@code S[h][qb][j]} measures (SPEC 1). Both come from the same single pass over K
 * and are reduced the same way (max over the rows of a query block and the query heads of a KV head's
 * group); they differ in how a row's probabilities inside block {@code j} are summarised.
 */
public enum ScoreMode {
    /**
     * The paper's Eq. 3 (HySparse, Algorithm 1), the default: the largest row-normalised probability of any
     * key in the block. It ranks a block by its single most attended token, so one sharp "needle" key
     * lifts its block even when the block's total mass is small.
     */
    MAX,
    /**
     * v1's block mass: the sum of a row's probabilities over the block's keys. Kept because PrHS
     * mass-targeted selection ({@link SelectionPolicy.MassTarget}) needs masses: the masses left out of a
     * selection bound the attention mass it drops, which maxima do not.
     */
    MASS;

    /** {@code max} or {@code mass}, any case, as on command lines. */
    public static ScoreMode parse(String name) {
        return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "max" -> MAX;
            case "mass" -> MASS;
            default -> throw new IllegalArgumentException("scores: expected max or mass but got '" + name + "'");
        };
    }
}
