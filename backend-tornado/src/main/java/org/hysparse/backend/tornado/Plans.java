package org.hysparse.backend.tornado;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/** How this backend opens, feeds and closes TornadoVM plans: the device, compiler flags and work-group size in one place. */
final class Plans {
    private Plans() {
    }

    /** A 1-D grid of {@link Kernels#LOCAL}-thread work-groups; callers set the global size per call. */
    static WorkerGrid1D grid() {
        WorkerGrid1D w = new WorkerGrid1D(Kernels.LOCAL);
        w.setLocalWork(Kernels.LOCAL, 1, 1);
        return w;
    }

    static TornadoExecutionPlan open(TornadoDevice device, GridScheduler scheduler, TaskGraph... graphs) {
        ImmutableTaskGraph[] snapshots = Arrays.stream(graphs).map(TaskGraph::snapshot).toArray(ImmutableTaskGraph[]::new);
        // No fast-relaxed math: block scores must add up like the reference's to keep TopK ties stable.
        return new TornadoExecutionPlan(snapshots).withGridScheduler(scheduler).withDevice(device)
                .withCompilerFlags(TornadoVMBackendType.OPENCL, "-w");
    }

    static void close(TornadoExecutionPlan plan) {
        try {
            plan.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing a TornadoVM plan failed", e);
        }
    }

    static void copyIn(float[] src, FloatArray dst) {
        MemorySegment.copy(src, 0, dst.getSegment(), ValueLayout.JAVA_FLOAT, 0, src.length);
    }

    static void copyOut(FloatArray src, long from, float[] dst, int n) {
        MemorySegment.copy(src.getSegment(), ValueLayout.JAVA_FLOAT, from * Float.BYTES, dst, 0, n);
    }
}
