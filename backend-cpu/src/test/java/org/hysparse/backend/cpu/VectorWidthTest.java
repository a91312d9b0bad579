package org.hysparse.backend.cpu;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** The kernels use the width -Dhysparse.cpu.vectorBits forces (the test command runs the kit at 128 and 256 bits too). */
class VectorWidthTest {
    @Test
    void theForcedWidthIsTheKernelsWidth() {
        String bits = System.getProperty(VectorInfo.PROPERTY);
        if (bits != null && !bits.isBlank()) {
            assertEquals(Integer.parseInt(bits.trim()), VectorKernel.F.vectorBitSize());
            assertEquals(Integer.parseInt(bits.trim()) / 32, FlashKernel.LANES);
            assertTrue(VectorInfo.describe().contains("forced by -Dhysparse.cpu.vectorBits"), VectorInfo.describe());
        } else {
            assertEquals(jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, VectorKernel.F);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VectorInfo.choose("96"));
        assertTrue(e.getMessage().startsWith("hysparse.cpu.vectorBits: expected 0 (plain loops), 128, 256 or 512 but got '96'"), e.getMessage());
        assertFalse(FlashKernel.PLAIN, "this JVM has the Vector API and no forced plain path");
        String fma = System.getProperty(VectorInfo.FMA_PROPERTY);
        if (fma != null) {
            assertEquals(Boolean.parseBoolean(fma), VectorInfo.FMA);
            assertTrue(VectorInfo.describe().contains("forced by -D" + VectorInfo.FMA_PROPERTY), VectorInfo.describe());
        }
        assertTrue(VectorInfo.fma("true") && !VectorInfo.fma("false"));
    }
}
