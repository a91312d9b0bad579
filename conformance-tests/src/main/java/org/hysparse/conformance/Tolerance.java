package org.hysparse.conformance;

import org.hysparse.api.KvPrecision;

/** SPEC "Conformance tolerances": {@code out} relative L2 per row; {@code S} absolute. */
public record Tolerance(double outRelL2, double scoreAbs) {
    public static Tolerance of(KvPrecision precision) {
        return precision == KvPrecision.FLOAT32 ? new Tolerance(1e-4, 1e-5) : new Tolerance(2e-2, 1e-3);
    }
}
