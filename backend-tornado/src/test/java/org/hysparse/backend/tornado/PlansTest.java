package org.hysparse.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Host copies into and out of the arrays TornadoVM moves (shared or automatic arenas), sliced over the common pool when large: no device needed. */
class PlansTest {
    @Test
    void largeCopiesInSlicesLandEveryFloatWhereOneCopyWould() {
        Random rnd = new Random(41);
        int n = 3 * Plans.PARALLEL_COPY + 12345, from = 7, at = 11;
        float[] src = new float[from + n];
        for (int i = 0; i < src.length; i++) src[i] = (float) rnd.nextGaussian();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate((long) (at + n + 5) * Float.BYTES);
            seg.fill((byte) 0x7f);
            float guard = seg.getAtIndex(ValueLayout.JAVA_FLOAT, 0);
            Plans.copy(src, from, seg, at, n);
            for (int i = 0; i < n; i++) assertEquals(src[from + i], seg.getAtIndex(ValueLayout.JAVA_FLOAT, at + i), "in: float " + i);
            assertEquals(guard, seg.getAtIndex(ValueLayout.JAVA_FLOAT, at - 1), "in: nothing before the range");
            assertEquals(guard, seg.getAtIndex(ValueLayout.JAVA_FLOAT, at + n), "in: nothing after the range");
            float[] back = new float[n + 3];
            java.util.Arrays.fill(back, -1f);
            Plans.copy(seg, at, back, 2, n);
            for (int i = 0; i < n; i++) assertEquals(src[from + i], back[2 + i], "out: float " + i);
            assertEquals(-1f, back[1], "out: nothing before the range");
            assertEquals(-1f, back[n + 2], "out: nothing after the range");
        }
    }
}
