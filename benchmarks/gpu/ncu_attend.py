#!/usr/bin/env python3
"""The tornado backend's attention kernel, as TornadoVM generated it, launched through CUDA so Nsight Compute can profile it.

NVIDIA's OpenCL cannot be profiled with Nsight Compute, so this script builds the OpenCL source with NVIDIA's OpenCL
driver, takes the PTX it made, rewrites the few OpenCL-only parts (the "texmode_independent" target, the address-space
attributes of kernel parameters, and %envreg0, OpenCL's global offset in work-groups, 0 here), compiles it with
ptxas for this GPU and launches it with the CUDA driver API on one decode step of the dense oracle: T = 131072
tokens, Hq/Hkv = 32/8, D = 128, B = 64, random (seeded) keys, values and query, split as the backend splits it.

TornadoVM's CUDA driver (NVRTC) generates CUDA C for the same kernel: given that (a .cu file), the script builds
it with nvcc instead, the same way apart from the flags, which that driver does not pass on to NVRTC.

usage: ncu_attend.py <attend.cl|attend.cu> [fp16|fp32|registers] [reps] [ptxas or nvcc flags...]
  `registers` only builds the kernel and prints ptxas's resource line (registers, shared memory): at most 128
  registers a thread keep four 128-thread work-groups on an SM (docs/adr/0004). That works for any kernel version;
  the launch below mirrors the kernel's parameters as they were before the per-pool parameters of issue 23 and
  refuses to launch a kernel whose parameter list differs.
  <attend.cl>: the OpenCL program holding `attend`, from -Dtornado.printKernel=True -Dtornado.print.kernel.dir=F
  (one file of all programs: the script takes the last one that defines attend); <attend.cu> the same from the
  CUDA driver (the script takes the last definition of attend, up to the next kernel).
  SPLITS=n in the environment overrides the split count (128, as DeviceCache chooses at this length), OPENCL_FLAGS
  the OpenCL build options (TornadoVM's defaults; e.g. add -cl-nv-maxrregcount=N).
Prints the kernel's time (the mean of `reps` back-to-back launches, CUDA events) and the bytes it read per
second. Under Nsight Compute: ncu --set full -k attend -c 1 python3 ncu_attend.py attend.cl fp16 1

The parameter slots and array layouts mirror Kernels.java (TornadoVM arrays: a 16-byte header, then the data);
change them together.
"""
import ctypes as C
import os
import re
import subprocess
import sys
import tempfile

import torch

from printed_kernels import cuda_kernel, opencl_program

HQ, HKV, D, B, T = 32, 8, 128, 64, 131072
SPLITS = int(os.environ.get("SPLITS", "128"))
# The OpenCL build options: TornadoVM 5.2's defaults (tornado.opencl.compiler.flags) plus what the backend adds.
OPENCL_FLAGS = os.environ.get("OPENCL_FLAGS", "-cl-mad-enable -cl-fast-relaxed-math -w")
HEADER = 16
# Parameters of the attend kernel this script launches (TornadoVM's four, then the kernel's ten, as before issue 23).
LAUNCH_ARGS = 14
# Kernels.java's parameter slots.
SLOTS = dict(HQ=0, HKV=1, DIM=2, BLOCK=3, QBLOCK=4, TOKENS=5, NB_STRIDE=6, FIRST_QB=7, NQB=8, WINDOW=9, RING=10,
             CHUNK_STRIDE=11, SEL_STRIDE=15, SPLITS=18, MBITS=19, ROW=20, PAGE=21, KPAGE=22, MODE=23, STARTS=25,
             SCORES_AT=26, VECTORS=29, PARAMS=30)


def opencl_ptx(source):
    """Builds an OpenCL program with the first GPU's OpenCL driver and returns its PTX."""
    cl = C.CDLL("libOpenCL.so.1")
    n, platforms, device, err = C.c_uint(), (C.c_void_p * 8)(), C.c_void_p(), C.c_int()
    cl.clGetPlatformIDs(8, platforms, C.byref(n))
    if not any(cl.clGetDeviceIDs(C.c_void_p(platforms[i]), C.c_ulonglong(1 << 2), 1, C.byref(device), None) == 0
               for i in range(n.value)):
        raise SystemExit("no OpenCL GPU (is OCL_ICD_VENDORS set?)")
    cl.clCreateContext.restype = cl.clCreateProgramWithSource.restype = C.c_void_p
    ctx = cl.clCreateContext(None, 1, C.byref(device), None, None, C.byref(err))
    src, length = C.c_char_p(source.encode()), C.c_size_t(len(source))
    program = cl.clCreateProgramWithSource(C.c_void_p(ctx), 1, C.byref(src), C.byref(length), C.byref(err))
    if cl.clBuildProgram(C.c_void_p(program), 1, C.byref(device), OPENCL_FLAGS.encode(), None, None) != 0:
        raise SystemExit("the OpenCL build failed")
    size = C.c_size_t()
    cl.clGetProgramInfo(C.c_void_p(program), 0x1165, C.sizeof(size), C.byref(size), None)  # CL_PROGRAM_BINARY_SIZES
    binary = C.create_string_buffer(size.value)
    pointers = (C.c_char_p * 1)(C.cast(binary, C.c_char_p))
    cl.clGetProgramInfo(C.c_void_p(program), 0x1166, C.sizeof(pointers), pointers, None)  # CL_PROGRAM_BINARIES
    return binary.raw.rstrip(b"\0").decode()


def as_cuda(ptx):
    ptx = ptx.replace(", texmode_independent", "").replace(".entry attend", ".visible .entry attend")
    ptx = re.sub(r"\.ptr \.\w+ \.align \d+ ", "", ptx)
    return re.sub(r"%envreg0\b", "0", ptx)


def tornado_array(t):
    raw = torch.zeros(HEADER + t.numel() * t.element_size(), dtype=torch.uint8, device="cuda")
    raw[HEADER:] = t.contiguous().view(torch.uint8).flatten()
    return raw


def cubin(path, flags, work):
    """Builds `attend` from TornadoVM's OpenCL (through NVIDIA's OpenCL, then ptxas) or CUDA C (nvcc) into a cubin."""
    source = open(path).read()
    if path.endswith(".cu"):
        open(f"{work}/attend.cu", "w").write(cuda_kernel(source, "attend", origin=path))
        subprocess.run(["nvcc", "-arch=sm_90", "-cubin", "-Xptxas", "-v", "-diag-suppress", "550", f"{work}/attend.cu",
                        "-o", f"{work}/attend.cubin"] + flags, check=True)
        return f"{work}/attend.cubin"
    ptx = as_cuda(opencl_ptx(opencl_program(source, "attend", origin=path)))
    open(f"{work}/attend.ptx", "w").write(ptx)
    subprocess.run(["ptxas", "-arch=sm_90", "-v", f"{work}/attend.ptx", "-o", f"{work}/attend.cubin"] + flags, check=True)
    return f"{work}/attend.cubin"


def main():
    kv = sys.argv[2] if len(sys.argv) > 2 else "fp16"
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    binary = cubin(sys.argv[1], sys.argv[4:], tempfile.mkdtemp())
    if kv == "registers":
        return
    signature = open(sys.argv[1]).read().split("void attend(")[-1].split(")")[0]
    if signature.count(",") + 1 != LAUNCH_ARGS:
        raise SystemExit(f"attend takes {signature.count(',') + 1} parameters but this script launches it with {LAUNCH_ARGS}: "
                         "update its parameter slots and arrays to Kernels.java first (or use `registers`)")

    torch.zeros(1, device="cuda")  # the CUDA context the driver calls below run in
    cuda = C.CDLL("libcuda.so.1")
    module, function = C.c_void_p(), C.c_void_p()
    for rc, what in ((cuda.cuModuleLoadData(C.byref(module), C.c_char_p(open(binary, "rb").read())), "load"),
                     (cuda.cuModuleGetFunction(C.byref(function), module, b"attend"), "function")):
        if rc != 0:
            raise SystemExit(f"cuModule {what}: CUDA error {rc}")

    mbits = 10 if kv == "fp16" else 0
    nb_cap, page = 4096, B * HKV * D  # DeviceCache's capacity for T = 131072 (a quarter to spare, then a power of two)
    p = [0] * (SLOTS["PARAMS"] + 3)
    for name, value in dict(HQ=HQ, HKV=HKV, DIM=D, BLOCK=B, QBLOCK=64, TOKENS=T, NB_STRIDE=nb_cap, FIRST_QB=(T - 1) // 64,
                            NQB=1, RING=1, CHUNK_STRIDE=nb_cap, SEL_STRIDE=nb_cap, SPLITS=SPLITS, MBITS=mbits, ROW=D,
                            PAGE=page, KPAGE=page, MODE=0, STARTS=SLOTS["PARAMS"] + 1, SCORES_AT=HQ * D, VECTORS=HQ).items():
        p[SLOTS[name]] = value
    p[SLOTS["PARAMS"]], p[SLOTS["PARAMS"] + 2] = T - 1, 1
    g = torch.Generator(device="cuda").manual_seed(20261123)
    n = nb_cap * page

    def cache():
        x = torch.randn(n, device="cuda", generator=g)
        return tornado_array(x.half().view(torch.int32) if mbits else x)

    unused_f, unused_i = tornado_array(torch.zeros(1, device="cuda")), tornado_array(torch.zeros(1, dtype=torch.int32, device="cuda"))
    kf, vf, kh, vh = (unused_f, unused_f, cache(), cache()) if mbits else (cache(), cache(), unused_i, unused_i)
    table = torch.zeros(512)  # Kernels.TABLE: sign and exponent -> power of two (float16)
    for se in range(64):
        e = se & 31
        power = float("inf") if e == 31 else 2.0 ** (max(e, 1) - 25)
        table[se] = -power if se > 31 else power
    q = tornado_array(torch.cat([torch.tensor([D ** -0.5], device="cuda"), torch.randn(HQ * D, device="cuda", generator=g)]))
    partial = tornado_array(torch.zeros((HQ * SPLITS + HQ) * (D + 2), device="cuda"))
    stats = tornado_array(torch.zeros(HQ * nb_cap * 2, device="cuda"))
    scratch = torch.zeros(4096, dtype=torch.uint8, device="cuda")
    # attend(_kernel_context, _constant_region, _local_region, _atomics, q, kf, vf, kh, vh, p, consts, sel, partial, stats)
    arrays = [scratch, scratch, None, scratch, q, kf, vf, kh, vh, tornado_array(torch.tensor(p, dtype=torch.int32, device="cuda")),
              tornado_array(table.cuda()), tornado_array(torch.zeros(8 * nb_cap + 8, dtype=torch.int32, device="cuda")), partial, stats]
    values = [C.c_uint64(0 if a is None else a.data_ptr()) for a in arrays]
    argv = (C.c_void_p * len(values))(*[C.cast(C.pointer(v), C.c_void_p) for v in values])

    def launch():
        if cuda.cuLaunchKernel(function, HKV * SPLITS, 1, 1, 128, 1, 1, 0, None, argv, None) != 0:
            raise SystemExit("cuLaunchKernel failed")

    launch()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        launch()
    end.record()
    torch.cuda.synchronize()
    us = start.elapsed_time(end) / reps * 1e3
    read = 2 * T * HKV * D * (2 if mbits else 4)
    state = partial[HEADER:].view(torch.float32)[: HQ * SPLITS * (D + 2)]
    if not bool(torch.isfinite(state).all()) or float(state.abs().sum()) == 0.0:
        raise SystemExit("the kernel's split states are not finite and non-zero: launch set-up is wrong")
    print(f"attend {kv} T={T} splits={SPLITS} {' '.join(sys.argv[4:])}: {us:.1f} us, {read / us / 1e3:.0f} GB/s of K and V")


if __name__ == "__main__":
    main()
