package org.hysparse.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;

/** The default device's preference, checked without a device: the CUDA driver's GPU, any GPU, the rest. */
class DevicesTest {
    @Test
    void aGpuOnTheCudaDriverComesFirstThenAnyGpuThenTheRest() {
        int cudaGpu = Devices.rank(TornadoDeviceType.GPU, TornadoVMBackendType.CUDA);
        int openclGpu = Devices.rank(TornadoDeviceType.GPU, TornadoVMBackendType.OPENCL);
        int ptxGpu = Devices.rank(TornadoDeviceType.GPU, TornadoVMBackendType.PTX);
        int openclCpu = Devices.rank(TornadoDeviceType.CPU, TornadoVMBackendType.OPENCL);
        assertTrue(cudaGpu < openclGpu, "CUDA driver's GPU before the OpenCL driver's");
        assertTrue(openclGpu == ptxGpu, "other drivers' GPUs keep TornadoVM's order among themselves");
        assertTrue(openclGpu < openclCpu, "any GPU before a CPU device");
    }
}
