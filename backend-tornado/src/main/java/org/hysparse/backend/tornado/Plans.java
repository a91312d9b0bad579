package org.hysparse.backend.tornado;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.hysparse.api.Slices;
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

    /**
     * A 1-D grid of {@code groups} work-groups of {@link Kernels#LOCAL} threads: the most its task needs, which is
     * what a CUDA graph captures; run as calls, the caller sets each call's size.
     */
    static WorkerGrid1D grid(long groups) {
        WorkerGrid1D w = new WorkerGrid1D(Math.toIntExact(groups * Kernels.LOCAL));
        w.setLocalWork(Kernels.LOCAL, 1, 1);
        return w;
    }

    /** For the fault tests: thrown (once) by the next {@link #open}, as TornadoVM would when a compile fails. */
    static volatile RuntimeException failNextOpen;

    /** A plan of {@code graphs} on {@code device}, each run as one CUDA graph if {@code cudaGraphs} (see {@link Devices#graphs}). */
    static TornadoExecutionPlan open(TornadoDevice device, GridScheduler scheduler, boolean cudaGraphs, TaskGraph... graphs) {
        RuntimeException fault = failNextOpen;
        if (fault != null) {
            failNextOpen = null;
            throw fault;
        }
        ImmutableTaskGraph[] snapshots = Arrays.stream(graphs).map(TaskGraph::snapshot).toArray(ImmutableTaskGraph[]::new);
        // No fast-relaxed math: block scores must add up like the reference's to keep TopK ties stable.
        TornadoExecutionPlan plan = new TornadoExecutionPlan(snapshots).withGridScheduler(scheduler).withDevice(device)
                .withCompilerFlags(TornadoVMBackendType.OPENCL, "-w");
        if (cudaGraphs) plan.withCUDAGraph();
        return plan;
    }

    /**
     * Runs graph {@code graph} of {@code plan} through a {@code withGraph} node, never through the plan itself:
     * TornadoVM 5.2 appends every {@code execute()}'s result (a profiler result and a trace string) to a list on
     * the node it is called on, for that node's lifetime, so a plan executed directly grew the heap by about 1.5 KB
     * a decode step (found by the soak check, {@code hysparse serve --monitor}); a {@code withGraph} node is dropped
     * after its run, with its list.
     */
    static uk.ac.manchester.tornado.api.TornadoExecutionResult run(TornadoExecutionPlan plan, int graph) {
        return plan.withGraph(graph).execute();
    }

    static void close(TornadoExecutionPlan plan) {
        try {
            plan.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing a TornadoVM plan failed", e);
        }
    }

    /**
     * Copies of at least this many floats run in slices on the common pool: a prefill's queries and outputs (8k rows
     * of 32 heads of 128: 134 MB each way) are bound by the host's memory bandwidth, which one core does not reach;
     * below it the pool's hand-off costs more than it saves.
     */
    static final int PARALLEL_COPY = 1 << 20;

    static void copyIn(float[] src, FloatArray dst) {
        copy(src, 0, dst.getSegment(), 0, src.length);
    }

    static void copyOut(FloatArray src, long from, float[] dst, int n) {
        copy(src.getSegment(), from, dst, 0, n);
    }

    /** {@code n} floats from {@code src[from..]} to float index {@code at} of {@code dst}, in slices when large. */
    static void copy(float[] src, int from, MemorySegment dst, long at, int n) {
        Slices.forEach(n, PARALLEL_COPY, (lo, hi) -> MemorySegment.copy(src, from + lo, dst, ValueLayout.JAVA_FLOAT, (at + lo) * Float.BYTES, hi - lo));
    }

    /** {@code n} floats from float index {@code at} of {@code src} to {@code dst[to..]}, in slices when large. */
    static void copy(MemorySegment src, long at, float[] dst, int to, int n) {
        Slices.forEach(n, PARALLEL_COPY, (lo, hi) -> MemorySegment.copy(src, ValueLayout.JAVA_FLOAT, (at + lo) * Float.BYTES, dst, to + lo, hi - lo));
    }
}
