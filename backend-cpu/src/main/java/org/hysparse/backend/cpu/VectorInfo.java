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
    static final String PROPERTY = CpuProvider.VECTOR_BITS;
    static final VectorSpecies<Float> SPECIES = choose(System.getProperty(PROPERTY));
    /** The system property forcing fused multiply-adds on or off ({@code true}/{@code false}), so both paths are tested. */
    static final String FMA_PROPERTY = "hysparse.cpu.fma";
    /** Fused multiply-add in the kernels: where the JVM uses the hardware's (HotSpot's UseFMA), or as forced. */
    static final boolean FMA = fma(System.getProperty(FMA_PROPERTY));

    /**
     * Whether to use FMA: as {@code forced} says, else HotSpot's {@code UseFMA} (on where the CPU has FMA; without it
     * {@code Math.fma} and the Vector API's fma run in software, many times slower than a multiply and an add).
     */
    static boolean fma(String forced) {
        if (forced != null && !forced.isBlank()) return Boolean.parseBoolean(forced.trim());
        try {
            var bean = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return bean != null && Boolean.parseBoolean(bean.getVMOption("UseFMA").getValue());
        } catch (RuntimeException e) {
            return false; // not HotSpot, or no such option: a multiply and an add are right everywhere
        }
    }

    private VectorInfo() {
    }

    static VectorSpecies<Float> choose(String bits) {
        String bad = CpuProvider.badVectorBits(bits);
        if (bad != null) throw new IllegalArgumentException(bad);
        // 0 selects the plain path (FlashKernel.PLAIN), which never asks for a species.
        if (bits == null || bits.isBlank() || bits.trim().equals("0")) return FloatVector.SPECIES_PREFERRED;
        return VectorSpecies.of(float.class, VectorShape.forBitSize(Integer.parseInt(bits.trim())));
    }

    /** What was chosen and why, for the device line and the log. */
    static String describe() {
        String why = System.getProperty(PROPERTY) == null || System.getProperty(PROPERTY).isBlank()
                ? "the JVM's preferred width"
                : "forced by -D" + PROPERTY + (SPECIES.vectorBitSize() > VectorShape.preferredShape().vectorBitSize()
                        ? ", wider than the hardware's " + VectorShape.preferredShape().vectorBitSize() + ": emulated" : "");
        String fma = System.getProperty(FMA_PROPERTY) == null || System.getProperty(FMA_PROPERTY).isBlank()
                ? (FMA ? "FMA (the CPU has it)" : "no FMA (the JVM reports none: multiply and add)")
                : (FMA ? "FMA" : "no FMA") + " (forced by -D" + FMA_PROPERTY + ")";
        return SPECIES.vectorBitSize() + "-bit vectors, " + SPECIES.length() + " float lanes (" + why + "), " + fma;
    }
}
