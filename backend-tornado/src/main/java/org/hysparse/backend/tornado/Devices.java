package org.hysparse.backend.tornado;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.hysparse.api.Availability;
import uk.ac.manchester.tornado.api.TornadoRuntime;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/** The TornadoVM devices this JVM sees. Only reached once the runtime module is known to be present. */
final class Devices {
    private Devices() {
    }

    record Found(int backend, int index, TornadoDevice device) {
        String label() {
            return backend + ":" + index + " " + device.getDeviceName() + " (" + device.getDeviceType() + ", "
                    + device.getTornadoVMBackend() + ")";
        }
    }

    static List<Found> all() {
        TornadoRuntime rt = TornadoRuntimeProvider.getTornadoRuntime();
        List<Found> found = new ArrayList<>();
        for (int b = 0; b < rt.getNumBackends(); b++) {
            for (int d = 0; d < rt.getBackend(b).getNumDevices(); d++) found.add(new Found(b, d, rt.getBackend(b).getDevice(d)));
        }
        return found;
    }

    /** TornadoVM's "backend:device" name of {@code device}, as its per-task {@code .device} properties take it. */
    static String spec(TornadoDevice device) {
        return all().stream().filter(f -> f.backend() == device.getBackendIndex() && f.device().getDeviceName().equals(device.getDeviceName()))
                .map(f -> f.backend() + ":" + f.index()).findFirst()
                .orElseThrow(() -> new IllegalStateException("device: " + device.getDeviceName() + " is not among TornadoVM's devices"));
    }

    static boolean hasGpu() {
        try {
            return all().stream().anyMatch(f -> f.device().getDeviceType() == TornadoDeviceType.GPU);
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    static Availability availability() {
        try {
            List<Found> all = all();
            if (all.isEmpty()) return Availability.unavailable("TornadoVM found no device (is an OpenCL driver installed?)");
            return Availability.available("TornadoVM devices: " + all.stream().map(Found::label).toList());
        } catch (RuntimeException | LinkageError e) {
            return Availability.unavailable("TornadoVM runtime failed to start: " + causes(e));
        }
    }

    static String describeDefault() {
        try {
            List<Found> all = all();
            return all.isEmpty() ? "no TornadoVM device" : "TornadoVM " + pick(all, "").label();
        } catch (RuntimeException | LinkageError e) {
            return "TornadoVM (failed: " + causes(e) + ")";
        }
    }

    /**
     * The whole cause chain: TornadoVM's runtime fails in a static initializer, and the error a later call sees
     * ("Could not initialize class ...") names none of the reason (a driver's native library that did not load).
     */
    static String causes(Throwable e) {
        StringBuilder b = new StringBuilder(e.toString());
        for (Throwable c = e.getCause(); c != null && c != e; e = c, c = c.getCause()) b.append(" <- ").append(c);
        return b.toString();
    }

    /** By "B:D", by name substring, or else the first of the devices {@link #rank} puts first. */
    static Found choose(String spec) {
        return pick(all(), spec);
    }

    /** Why a device was chosen when none was named. */
    static final String DEFAULT_RULE = "the first GPU on TornadoVM's CUDA driver, else on its OpenCL driver, else any GPU, else the first device";

    /**
     * The default's preference, each rank in TornadoVM's order: a GPU through TornadoVM's CUDA driver, then
     * through its OpenCL driver, then through another driver, then the rest. Where both reach one NVIDIA GPU, the
     * CUDA driver's calls cost less (no blocking argument write per kernel; docs/tornado/README.md has the
     * figures). The PTX driver comes after OpenCL: the kit does not pass there
     * (TornadoVM 5.2 pins each array's host memory and fails on arrays that share a page).
     */
    static int rank(TornadoDeviceType type, TornadoVMBackendType driver) {
        if (type != TornadoDeviceType.GPU) return 3;
        return switch (driver) {
            case CUDA -> 0;
            case OPENCL -> 1;
            default -> 2;
        };
    }

    /**
     * Whether float16 caches on this device live in TornadoVM's {@code HalfFloatArray}s, each number read with one
     * 16-bit load and converted by one instruction ({@code HalfFloat.getFloat32}, which TornadoVM's CUDA driver emits
     * as {@code __half2float}), rather than as 16-bit words decoded through a table (about ten instructions). The
     * CUDA driver only: its generated CUDA C always has {@code half}, while an OpenCL device needs
     * {@code cl_khr_fp16}, which neither PoCL nor NVIDIA's OpenCL driver offers. ({@code HalfFloatArray.getHalf2},
     * one 32-bit load for two numbers, is out of reach: the OpenCL driver parses its Java body, whose string
     * concatenation it cannot compile.) Option {@code float16}: {@code native} (refused elsewhere), {@code words},
     * or empty for the device's default.
     */
    static boolean nativeHalf(Found device, String option) {
        return nativeHalf(device.device().getTornadoVMBackend(), device.label(), option);
    }

    /** {@link #nativeHalf(Found, String)} for a device on {@code driver}, named {@code label} in errors. */
    static boolean nativeHalf(TornadoVMBackendType driver, String label, String option) {
        return cudaDriverOnly("float16", "native", "words", true, "native half arrays need TornadoVM's CUDA driver",
                asCudaIfAsked(driver, option, "native"), label, option);
    }

    /**
     * A TornadoVM virtual device (-Dtornado.virtual.device=True) only generates code, it runs nothing: where an option
     * asks for a CUDA-driver feature ({@code on}) there, it is taken as the CUDA driver, so that TornadoVM prints that
     * driver's kernels on a machine without a GPU (docs/benchmarks.md, benchmarks/gpu/kernel_sass.py).
     */
    private static TornadoVMBackendType asCudaIfAsked(TornadoVMBackendType driver, String option, String on) {
        return driver == TornadoVMBackendType.VIRTUAL && option.trim().equals(on) ? TornadoVMBackendType.CUDA : driver;
    }

    /**
     * Whether the execution plans holding a cache run each call as one CUDA graph ({@code launch=graph}, the CUDA
     * driver's default) rather than as TornadoVM's copies and kernel launches one by one ({@code launch=calls}, the
     * default elsewhere). A graph is captured at a graph's first run and replayed after: its copies re-read the same
     * host arrays, which the backend keeps page-locked itself ({@link HostPins}), and its kernels run on the grids they
     * were captured with, so those grids are fixed per plan at the most a call can need and the kernels leave the
     * work-groups past a call's work idle (see {@link DeviceCache}). TornadoVM spends host time on each
     * copy and launch, and a decode call is two copies in, two kernels and a copy out, all of which one graph
     * launch replaces (docs/tornado/README.md has the figures). Option
     * {@code launch}: {@code graph} (refused on other drivers), {@code calls}, or empty for the driver's default.
     */
    static boolean graphs(Found device, String option) {
        return graphs(device.device().getTornadoVMBackend(), device.label(), option);
    }

    /** {@link #graphs(Found, String)} for a device on {@code driver}, named {@code label} in errors. */
    static boolean graphs(TornadoVMBackendType driver, String label, String option) {
        return cudaDriverOnly("launch", "graph", "calls", true, "CUDA graphs need TornadoVM's CUDA driver", driver, label, option);
    }

    /**
     * Whether each pool's kernels are compiled for its block size, head dim and KV heads: scalar kernel arguments,
     * which TornadoVM compiles in as constants, so index arithmetic by the block size is shifts rather than integer
     * divisions and the shape costs no register or parameter load (the head dim in address arithmetic only: the
     * loops over it run to the parameter's, docs/adr/0007).
     * Every pool's plan compiles its own kernels anyway (TornadoVM keeps compiled code per plan), so this adds no
     * compile. Option {@code specialize}: {@code pool} (the default, every driver) or {@code none} (the kernels read
     * the shape from their parameters, one source for every pool: for comparing the two, or a device compiler that
     * mishandles the constants).
     */
    static boolean specialized(String option) {
        String value = option.trim();
        if (value.isEmpty() || value.equals("pool")) return true;
        if (value.equals("none")) return false;
        throw new IllegalArgumentException("specialize: expected 'pool' or 'none' but got '" + option + "'");
    }

    /**
     * Whether prefill-sized calls on float16 pools (half arrays) run their two products on tensor cores
     * ({@link TensorCoreKernels#attendMma}, TornadoVM's warp MMA, which its CUDA driver alone has) rather than on CUDA
     * cores ({@link Kernels#attendTile}, which other precisions and drivers always use). Option {@code prefill}:
     * {@code mma} (refused on other drivers), {@code tile}, or empty for {@code tile}: the MMA kernel passes the
     * conformance kit on the GPU but is not yet faster than the CUDA-core one, so it stays opt-in (docs/adr/0008).
     */
    static boolean tensorCores(Found device, String option) {
        return tensorCores(device.device().getTornadoVMBackend(), device.label(), option);
    }

    /** {@link #tensorCores(Found, String)} for a device on {@code driver}, named {@code label} in errors. */
    static boolean tensorCores(TornadoVMBackendType driver, String label, String option) {
        return cudaDriverOnly("prefill", "mma", "tile", false, "TornadoVM's warp MMA is on its CUDA driver only",
                asCudaIfAsked(driver, option, "mma"), label, option);
    }

    /**
     * Option {@code name}: {@code on} (refused off TornadoVM's CUDA driver, with {@code why}), {@code off}, or empty for
     * the default: {@code on} on the CUDA driver if {@code onForCuda}, else {@code off}.
     */
    private static boolean cudaDriverOnly(String name, String on, String off, boolean onForCuda, String why, TornadoVMBackendType driver,
                                          String label, String option) {
        boolean cuda = driver == TornadoVMBackendType.CUDA;
        String value = option.trim();
        if (value.isEmpty()) return cuda && onForCuda;
        if (value.equals(off)) return false;
        if (!value.equals(on)) throw new IllegalArgumentException(name + ": expected '" + on + "' or '" + off + "' but got '" + option + "'");
        if (!cuda) throw new IllegalArgumentException(name + ": expected '" + off + "' or no value on " + label + " (" + why + ") but got '" + on + "'");
        return true;
    }

    private static Found pick(List<Found> all, String spec) {
        if (spec != null && !spec.isBlank()) {
            for (Found f : all) {
                if ((f.backend() + ":" + f.index()).equals(spec.trim()) || f.device().getDeviceName().contains(spec.trim())) return f;
            }
            throw new IllegalArgumentException("device: expected one of " + all.stream().map(Found::label).toList() + " but got '" + spec + "'");
        }
        return all.stream().sorted(Comparator.comparingInt(f -> rank(f.device().getDeviceType(), f.device().getTornadoVMBackend())))
                .findFirst().orElseThrow();
    }
}
