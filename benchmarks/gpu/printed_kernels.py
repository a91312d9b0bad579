"""One kernel out of the file TornadoVM prints (-Dtornado.printKernel=True -Dtornado.print.kernel.dir=F), which holds
everything a run compiled: the OpenCL driver's code as whole programs, the CUDA driver's as one kernel after another.
Shared by ncu_attend.py and kernel_sass.py."""

OPENCL_PRAGMA = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable"
CUDA_KERNEL = 'extern "C" __global__'


def cuda_kernel(source, name, which="last", origin="the file"):
    """CUDA kernel `name` (its last definition, or definition number `which`), ready to compile alone: the printed
    file's preamble, which brings the half type in, is replaced by the header."""
    kernels = [k for k in source.split(CUDA_KERNEL) if k.startswith(f" void {name}(")]
    return "#include <cuda_fp16.h>\n" + CUDA_KERNEL + _pick(kernels, f"CUDA C defining {name}", which, origin)


def opencl_program(source, name, which="last", origin="the file"):
    """The OpenCL program (its pragma included) that defines kernel `name`: the last, or number `which`."""
    programs = [p for p in source.split(OPENCL_PRAGMA) if f"__kernel void {name}(" in p]
    return OPENCL_PRAGMA + _pick(programs, f"an OpenCL program defining {name}", which, origin)


def _pick(found, what, which, origin):
    if not found:
        raise SystemExit(f"{origin}: expected {what} but found none")
    return found[-1] if which == "last" else found[int(which)]
