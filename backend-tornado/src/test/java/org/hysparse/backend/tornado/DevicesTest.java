package org.hysparse.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;

/**
 * Checked without a device: the default device's preference (CUDA driver's GPU, OpenCL's, other drivers', the rest), and
 * how float16 caches are read and whether calls run as CUDA graphs on each driver, and whether kernels are compiled for
 * each pool's shape.
 */
class DevicesTest {
    @Test
    void aGpuOnTheCudaDriverComesFirstThenOpenClThenOtherDriversThenTheRest() {
        int cudaGpu = Devices.rank(TornadoDeviceType.GPU, TornadoVMBackendType.CUDA);
        int openclGpu = Devices.rank(TornadoDeviceType.GPU, TornadoVMBackendType.OPENCL);
        int ptxGpu = Devices.rank(TornadoDeviceType.GPU, TornadoVMBackendType.PTX);
        int openclCpu = Devices.rank(TornadoDeviceType.CPU, TornadoVMBackendType.OPENCL);
        int cudaCpu = Devices.rank(TornadoDeviceType.CPU, TornadoVMBackendType.CUDA);
        assertTrue(cudaGpu < openclGpu, "CUDA driver's GPU before the OpenCL driver's");
        assertTrue(openclGpu < ptxGpu, "OpenCL driver's GPU before the PTX driver's (the kit fails on PTX)");
        assertTrue(ptxGpu < openclCpu, "any GPU before a CPU device");
        assertEquals(openclCpu, cudaCpu, "devices that are not GPUs keep TornadoVM's order among themselves");
    }

    @Test
    void float16IsReadAsHalfArraysOnTheCudaDriverOnlyUnlessWordsAreAskedFor() {
        assertTrue(Devices.nativeHalf(TornadoVMBackendType.CUDA, "cuda-0-0", ""), "CUDA driver: half arrays by default");
        assertTrue(Devices.nativeHalf(TornadoVMBackendType.CUDA, "cuda-0-0", "native"));
        assertFalse(Devices.nativeHalf(TornadoVMBackendType.CUDA, "cuda-0-0", "words"), "words on request");
        assertFalse(Devices.nativeHalf(TornadoVMBackendType.OPENCL, "pocl", ""), "OpenCL: words (no cl_khr_fp16 needed)");
        assertFalse(Devices.nativeHalf(TornadoVMBackendType.OPENCL, "pocl", "words"));
        assertTrue(Devices.nativeHalf(TornadoVMBackendType.VIRTUAL, "virtual", "native"), "a virtual device prints the CUDA kernels on request");
        assertFalse(Devices.nativeHalf(TornadoVMBackendType.VIRTUAL, "virtual", ""), "a virtual device: words by default");
        IllegalArgumentException notHere = assertThrows(IllegalArgumentException.class,
                () -> Devices.nativeHalf(TornadoVMBackendType.OPENCL, "0:0 pocl", "native"));
        assertTrue(notHere.getMessage().startsWith("float16:") && notHere.getMessage().contains("0:0 pocl")
                && notHere.getMessage().contains("got 'native'"), notHere.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Devices.nativeHalf(TornadoVMBackendType.CUDA, "cuda-0-0", "fast"));
        assertTrue(unknown.getMessage().startsWith("float16: expected 'native' or 'words'") && unknown.getMessage().contains("got 'fast'"),
                unknown.getMessage());
    }

    @Test
    void callsRunAsCudaGraphsOnTheCudaDriverUnlessAskedNotTo() {
        assertTrue(Devices.graphs(TornadoVMBackendType.CUDA, "cuda-0-0", ""), "CUDA driver: graphs by default");
        assertTrue(Devices.graphs(TornadoVMBackendType.CUDA, "cuda-0-0", "graph"), "graphs on request");
        assertFalse(Devices.graphs(TornadoVMBackendType.CUDA, "cuda-0-0", "calls"));
        assertFalse(Devices.graphs(TornadoVMBackendType.OPENCL, "pocl", ""), "OpenCL: calls");
        assertFalse(Devices.graphs(TornadoVMBackendType.OPENCL, "pocl", "calls"));
        IllegalArgumentException notHere = assertThrows(IllegalArgumentException.class,
                () -> Devices.graphs(TornadoVMBackendType.OPENCL, "0:0 pocl", "graph"));
        assertEquals("launch: expected 'calls' or no value on 0:0 pocl (CUDA graphs need TornadoVM's CUDA driver) but got 'graph'",
                notHere.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Devices.graphs(TornadoVMBackendType.CUDA, "cuda-0-0", "async"));
        assertEquals("launch: expected 'graph' or 'calls' but got 'async'", unknown.getMessage());
    }

    @Test
    void float16PrefillRunsOnTensorCoresOnlyOnRequestAndOnlyOnTheCudaDriver() {
        assertFalse(Devices.tensorCores(TornadoVMBackendType.CUDA, "cuda-0-0", ""), "CUDA driver: CUDA cores until the MMA kernel passed the kit on a GPU");
        assertTrue(Devices.tensorCores(TornadoVMBackendType.CUDA, "cuda-0-0", "mma"));
        assertFalse(Devices.tensorCores(TornadoVMBackendType.CUDA, "cuda-0-0", "tile"), "CUDA cores on request");
        assertFalse(Devices.tensorCores(TornadoVMBackendType.OPENCL, "pocl", ""), "OpenCL: CUDA cores (no MMA there)");
        assertTrue(Devices.tensorCores(TornadoVMBackendType.VIRTUAL, "virtual", "mma"), "a virtual device prints the MMA kernel on request");
        assertFalse(Devices.tensorCores(TornadoVMBackendType.VIRTUAL, "virtual", ""));
        IllegalArgumentException notHere = assertThrows(IllegalArgumentException.class,
                () -> Devices.tensorCores(TornadoVMBackendType.OPENCL, "0:0 pocl", "mma"));
        assertEquals("prefill: expected 'tile' or no value on 0:0 pocl (TornadoVM's warp MMA is on its CUDA driver only) but got 'mma'",
                notHere.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Devices.tensorCores(TornadoVMBackendType.CUDA, "cuda-0-0", "wmma"));
        assertEquals("prefill: expected 'mma' or 'tile' but got 'wmma'", unknown.getMessage());
        assertTrue(TensorCoreKernels.serves(128) && TensorCoreKernels.serves(64) && TensorCoreKernels.serves(32));
        assertFalse(TensorCoreKernels.serves(256) || TensorCoreKernels.serves(80) || TensorCoreKernels.serves(16),
                "head dims past four warps or not whole warps run attendTile");
    }

    @Test
    void kernelsAreCompiledForEachPoolsShapeUnlessAskedNotTo() {
        assertTrue(Devices.specialized(""), "default: compiled for the pool's shape");
        assertTrue(Devices.specialized("pool"));
        assertFalse(Devices.specialized("none"), "shape read from the parameters on request");
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> Devices.specialized("shape"));
        assertEquals("specialize: expected 'pool' or 'none' but got 'shape'", unknown.getMessage());
    }
}
