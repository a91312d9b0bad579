package org.hysparse.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float species every kernel uses, chosen once per JVM: the JVM's preferred one, or the width the system
 * property {@value #PROPERTY} forces (128, 256 or 512 bits), so that each lane-count-dependent path (padding to
 * the lane count, row-dot versus transposed logits, tails) can be run and tested on any machine; a width above
 * the hardware's runs correctly but emulated. Kept apart from {@link CpuProvider} so the provider loads without
 * the Vector API module.
 */
final class VectorInfo {
    static final String PROPERTY = "hysparse.cpu.vectorBits";
    static final VectorSpecies<Float> SPECIES = choose(System.getProperty(PROPERTY));

    private VectorInfo() {
    }

    static VectorSpecies<Float> choose(String bits) {
        if (bits == null || bits.isBlank()) return FloatVector.SPECIES_PREFERRED;
        return switch (bits.trim()) {
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException(PROPERTY + ": expected 128, 256 or 512 but got '" + bits + "'");
        };
    }

    /** What was chosen and why, for the device line and the log. */
    static String describe() {
        String why = System.getProperty(PROPERTY) == null || System.getProperty(PROPERTY).isBlank()
                ? "the JVM's preferred width"
                : "forced by -D" + PROPERTY + (SPECIES.vectorBitSize() > VectorShape.preferredShape().vectorBitSize()
                        ? ", wider than the hardware's " + VectorShape.preferredShape().vectorBitSize() + ": emulated" : "");
        return SPECIES.vectorBitSize() + "-bit vectors, " + SPECIES.length() + " float lanes (" + why + ")";
    }
}
