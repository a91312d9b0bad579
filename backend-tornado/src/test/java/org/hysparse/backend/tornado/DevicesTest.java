package org.hysparse.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;

/** The default device's preference, checked without a device: CUDA driver's GPU, OpenCL's, other drivers', the rest. */
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
}
