package org.hysparse.backend.tornado;

import static org.junit.jupiter.api.Assertions.*;

import org.hysparse.api.Availability;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.HalfFloat;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Half2;

/**
 * Minimal reproducers of TornadoVM behaviours the backend works around (docs/tornado/workarounds.md): each asserts
 * the behaviour as TornadoVM 5.2 has it, so that the test fails, and says which workaround can go, on a TornadoVM
 * that behaves as Java does.
 */
class TornadoReproducersTest {
    /** The device the tests run on, or the test skipped with TornadoVM's reason. */
    private static Devices.Found device() {
        Availability a = new TornadoProvider().availability();
        Assumptions.assumeTrue(a.available(), "tornado unavailable: " + a.reason());
        return Devices.choose(System.getProperty("hysparse.tornado.device", ""));
    }

    /** Runs graph {@code g}'s one task ({@code task}: "graph.task") once, on one work-group, in a plan closed afterwards. */
    private static void runOnce(Devices.Found device, TaskGraph g, String task) {
        TornadoExecutionPlan plan = Plans.open(device.device(), new GridScheduler(task, Plans.grid(1)), false, g);
        try {
            plan.execute();
        } finally {
            Plans.close(plan);
        }
    }

    /** Workaround 2: {@code >>>} on an int compiled as a signed shift. */
    static void unsignedShift(KernelContext ctx, IntArray in, IntArray out) {
        int i = ctx.globalIdx;
        out.set(i, in.get(i) >>> 16);
    }

    @Test
    void unsignedShiftOfANegativeIntIsSignExtended() {
        Devices.Found device = device();
        IntArray in = new IntArray(Kernels.LOCAL), out = new IntArray(Kernels.LOCAL);
        for (int i = 0; i < Kernels.LOCAL; i++) in.set(i, 0xABCD1234 + i);
        TaskGraph g = new TaskGraph("repro").transferToDevice(DataTransferMode.EVERY_EXECUTION, in)
                .task("shift", TornadoReproducersTest::unsignedShift, new KernelContext(), in, out)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
        runOnce(device, g, "repro.shift");
        int java = 0xABCD1234 >>> 16, signed = 0xABCD1234 >> 16;
        assertNotEquals(java, out.get(0), "TornadoVM now computes >>> as Java does (" + Integer.toHexString(out.get(0))
                + "): the signed-shift-and-mask workaround in Kernels can go (docs/tornado/workarounds.md, entry 2)");
        assertEquals(signed, out.get(0), "neither Java's >>> nor a signed shift: " + Integer.toHexString(out.get(0)));
    }

    /** Workaround 14: a loop whose bound is a conditional expression, then a store after the loop. */
    static void conditionalBound(KernelContext ctx, IntArray p, IntArray out) {
        int lid = ctx.localIdx, n = p.get(0);
        // Never taken (n is 4): a read of out, so that TornadoVM copies its sentinels to the device (workaround 10).
        if (n < 0) out.set(lid, out.get(lid));
        out.set(2 * Kernels.LOCAL + lid, 3);
        for (int i = lid; i < (n > 0 ? 2 * n : 0); i += Kernels.LOCAL) out.set(i, 1);
        out.set(Kernels.LOCAL + lid, 2);
    }

    @Test
    void aLoopBoundedByAConditionalExpressionEndsTheKernel() {
        Devices.Found device = device();
        IntArray p = new IntArray(1), out = new IntArray(3 * Kernels.LOCAL);
        p.set(0, 4);
        for (int i = 0; i < out.getSize(); i++) out.set(i, -1);
        TaskGraph g = new TaskGraph("bound").transferToDevice(DataTransferMode.EVERY_EXECUTION, p, out)
                .task("loop", TornadoReproducersTest::conditionalBound, new KernelContext(), p, out)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
        runOnce(device, g, "bound.loop");
        assertEquals(3, out.get(2 * Kernels.LOCAL), "the kernel did not run up to the loop");
        assertNotEquals(2, out.get(Kernels.LOCAL), "TornadoVM now compiles the store after a loop bounded by a conditional"
                + " expression: attendTile's plain bound can go back (docs/tornado/workarounds.md, entry 14)");
        assertEquals(-1, out.get(Kernels.LOCAL), "the store after the loop neither ran nor was skipped: " + out.get(Kernels.LOCAL));
    }

    /** Workaround 17: {@code HalfFloatArray.getHalf2}, the one 32-bit load of two halves. */
    static void halfPairs(KernelContext ctx, HalfFloatArray in, FloatArray out) {
        int i = ctx.globalIdx;
        out.set(i, Half2.lowFloat(in.getHalf2(2 * i)));
    }

    @Test
    void aKernelLoadingHalfPairsDoesNotCompile() {
        Devices.Found device = device();
        HalfFloatArray in = new HalfFloatArray(2 * Kernels.LOCAL);
        FloatArray out = new FloatArray(Kernels.LOCAL);
        for (int i = 0; i < in.getSize(); i++) in.set(i, new HalfFloat(i * 0.25f));
        // TornadoVM builds a task's sketch when the task is added: the failure comes from task(), before any run.
        RuntimeException e = assertThrows(RuntimeException.class, () -> runOnce(device, new TaskGraph("pairs")
                        .transferToDevice(DataTransferMode.EVERY_EXECUTION, in)
                        .task("load", TornadoReproducersTest::halfPairs, new KernelContext(), in, out)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, out), "pairs.load"),
                "TornadoVM now compiles HalfFloatArray.getHalf2: attend's 16-bit loads can be paired (docs/tornado/workarounds.md, entry 17)");
        assertTrue(String.valueOf(e.getMessage()).contains("sketch"), "another failure than the sketch's: " + e);
    }

    /**
     * Workaround 13: every {@code execute()} result stays on the plan node it was called on for the node's lifetime (a
     * server's heap grows a record a launch); run through a {@code withGraph} node ({@link Plans#run}) nothing stays.
     */
    @Test
    void aPlanKeepsEveryExecutionResult() {
        Devices.Found device = device();
        IntArray in = new IntArray(Kernels.LOCAL), out = new IntArray(Kernels.LOCAL);
        TaskGraph g = new TaskGraph("keep").transferToDevice(DataTransferMode.EVERY_EXECUTION, in)
                .task("shift", TornadoReproducersTest::unsignedShift, new KernelContext(), in, out)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
        TornadoExecutionPlan plan = Plans.open(device.device(), new GridScheduler("keep.shift", Plans.grid(1)), false, g);
        try {
            for (int i = 0; i < 3; i++) Plans.run(plan, 0);
            assertThrows(RuntimeException.class, () -> plan.getPlanResult(0), "runs through withGraph leave no result on the plan");
            for (int i = 0; i < 3; i++) plan.execute();
            assertNotNull(plan.getPlanResult(2), "TornadoVM now drops execution results: Plans.run's withGraph node can go"
                    + " (docs/tornado/workarounds.md, entry 13)");
        } finally {
            Plans.close(plan);
        }
    }
}
