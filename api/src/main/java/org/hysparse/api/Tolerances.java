package org.hysparse.api;

/**
 * SPEC "Conformance tolerances", in one place: the kit judges backends with these, and {@link Checks} accepts
 * block scores up to {@code 1 + } {@link #scoreAbs} of the loosest precision, so that scores a conforming
 * backend produced are never refused by {@code select} (a 16-bit backend's S may exceed 1 by that much).
 */
public final class Tolerances {
    /** Relative L2 error per output row, float32 KV. */
    public static final double OUT_REL_L2_FLOAT32 = 1e-4;
    /** Relative L2 error per output row, 16-bit KV (float16, bfloat16). */
    public static final double OUT_REL_L2_16BIT = 2e-2;
    /** Absolute error of a block score (and of dropped mass), float32 KV. */
    public static final double SCORE_ABS_FLOAT32 = 1e-5;
    /** Absolute error of a block score (and of dropped mass), 16-bit KV. */
    public static final double SCORE_ABS_16BIT = 1e-3;
    /** The largest block score {@link Checks#selection} accepts: 1 plus the loosest score tolerance. */
    public static final float SCORE_MAX = (float) (1 + SCORE_ABS_16BIT);

    private Tolerances() {
    }

    /** Relative L2 error per output row allowed for KV of {@code precision}. */
    public static double outRelL2(KvPrecision precision) {
        return precision == KvPrecision.FLOAT32 ? OUT_REL_L2_FLOAT32 : OUT_REL_L2_16BIT;
    }

    /** Absolute error of a block score allowed for KV of {@code precision}. */
    public static double scoreAbs(KvPrecision precision) {
        return precision == KvPrecision.FLOAT32 ? SCORE_ABS_FLOAT32 : SCORE_ABS_16BIT;
    }
}
