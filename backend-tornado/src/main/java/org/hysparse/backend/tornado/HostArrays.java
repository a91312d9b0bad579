package org.hysparse.backend.tornado;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.TornadoNativeArray;

/**
 * The host side of one plan's small arrays (queries, parameters, selections, outputs, staging rows). Run as calls,
 * plain TornadoVM arrays. Under CUDA graphs, each in whole pages of its own, page-locked by {@link HostPins} for the
 * plan's life: a captured copy reads and writes them on every replay.
 */
final class HostArrays implements AutoCloseable {
    /**
     * Bytes an array's pages are rounded to: 64 KiB, the largest page size Linux uses (arm64), so that two arrays
     * never share a page, which the driver would refuse to lock twice.
     */
    private static final long PAGE = 1 << 16;

    /** Null when run as calls. */
    private final HostPins pins;
    private final Arena arena;
    private final List<MemorySegment> pinned = new ArrayList<>();

    HostArrays(HostPins pins) {
        this.pins = pins;
        arena = pins == null ? null : Arena.ofShared();
    }

    FloatArray floats(int n) {
        return pins == null ? new FloatArray(n) : FloatArray.fromSegmentShallow(pages((long) n * Float.BYTES));
    }

    IntArray ints(int n) {
        return pins == null ? new IntArray(n) : IntArray.fromSegmentShallow(pages((long) n * Integer.BYTES));
    }

    HalfFloatArray halves(int n) {
        return pins == null ? new HalfFloatArray(n) : HalfFloatArray.fromSegmentShallow(pages((long) n * Short.BYTES));
    }

    /** A TornadoVM array's segment (its header, then {@code bytes}) at the start of page-locked pages of its own. */
    private MemorySegment pages(long bytes) {
        long size = TornadoNativeArray.ARRAY_HEADER + bytes;
        MemorySegment pages = arena.allocate((size + PAGE - 1) / PAGE * PAGE, PAGE);
        pins.pin(pages);
        pinned.add(pages);
        return pages.asSlice(0, size);
    }

    /** After the plan that copies from these arrays has closed. */
    @Override
    public void close() {
        if (pins == null) return;
        pinned.forEach(pins::unpin);
        pinned.clear();
        arena.close();
    }
}
