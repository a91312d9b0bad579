package org.hysparse.conformance;

/** How a case's data is drawn. Gaussian unless a case is built to attack one weakness. */
public enum Pattern {
    /** Unit Gaussian keys, values and queries. */
    GAUSSIAN,
    /** One block whose keys strongly match every query: it must be selected. */
    NEEDLE,
    /** Identical keys everywhere: uniform attention, so equal-length blocks tie exactly in S. */
    CONSTANT_KEYS,
    /** Groups of blocks given identical keys, so S has exact and near ties between distant blocks. */
    NEAR_TIES,
    /** Queries scaled so attention concentrates on few tokens. */
    PEAKED,
    /** Logits near +-1e4: any kernel that exponentiates before subtracting the maximum overflows. */
    HUGE_LOGITS,
    /** Keys and values with float32 subnormals mixed in. */
    SUBNORMALS
}
