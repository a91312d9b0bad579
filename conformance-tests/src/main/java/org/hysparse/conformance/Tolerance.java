package org.hysparse.conformance;

import org.hysparse.api.KvPrecision;
import org.hysparse.api.Tolerances;

/** SPEC "Conformance tolerances" for one precision ({@link Tolerances} holds the figures): {@code out} relative L2 per row; {@code S} absolute. */
public record Tolerance(double outRelL2, double scoreAbs) {
    public static Tolerance of(KvPrecision precision) {
        return new Tolerance(Tolerances.outRelL2(precision), Tolerances.scoreAbs(precision));
    }
}
