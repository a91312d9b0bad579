package org.hysparse.backend.cpu;

import jdk.incubator.vector.FloatVector;

/** Kept apart from {@link CpuProvider} so the provider loads without the Vector API module. */
final class VectorInfo {
    private VectorInfo() {
    }

    static String describe() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors, " + FloatVector.SPECIES_PREFERRED.length() + " float lanes";
    }
}
