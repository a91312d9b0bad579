#!/usr/bin/env python3
"""Instructions per loop trip of the tornado backend's kernels, for sm_90, without a GPU.

The dense decode kernel is bound by the instructions it issues (docs/measurements/2026-12-05-h200-decode-profile.md),
so a kernel change can be judged before any GPU time by what its loops compile to. This script takes TornadoVM's
OpenCL C for a kernel (from any run with -Dtornado.printKernel=True -Dtornado.print.kernel.dir=F, PoCL included),
compiles it with clang for nvptx64 (-cl-mad-enable, as NVIDIA's OpenCL does), assembles it with ptxas for sm_90 and
prints the registers and, for each loop of the kernel (a backward branch over more than 40 instructions), its
length, its float and memory instructions and how many of its global loads precede its first float instruction.
The OpenCL builtins TornadoVM's code calls are mapped to PTX ones (exp to ex2.approx), so the listing's counts are
right and its numerics are not: it is for counting only.

Given TornadoVM's CUDA C instead (a .cu file: the CUDA driver's printed kernels), it builds that with nvcc, as the
CUDA driver's NVRTC would, apart from flags. The CUDA C needs no GPU either: a TornadoVM SDK with the CUDA driver
prints it on a virtual device (-Dtornado.virtual.device=True -Dtornado.device.desc=F.json, the backend's options
device=1:0,float16=native; the run stops with TornadoVM's "unimplemented" once the kernels are printed;
docs/benchmarks.md).

needs: clang (15 or later; .cl only) and a CUDA toolkit's nvcc (.cu only), ptxas and cuobjdump of one version
(Debian's nvidia-cuda-toolkit, 11.8, reads sm_90); set CLANG / NVCC / PTXAS / CUOBJDUMP to pick others.
usage: kernel_sass.py <program.cl|kernels.cu> [kernel (attend)] [which definition: last (default) or an index]
"""
import collections
import os
import re
import subprocess
import sys
import tempfile

from printed_kernels import cuda_kernel, opencl_program

# The OpenCL builtins TornadoVM's kernels call, as PTX-level builtins: clang has no OpenCL library for nvptx64.
BUILTINS = """
#define get_group_id(x) __nvvm_read_ptx_sreg_ctaid_x()
#define get_local_id(x) __nvvm_read_ptx_sreg_tid_x()
#define barrier(x) __nvvm_bar_sync(0)
#define exp(x) __nvvm_ex2_approx_f((x) * 1.4426950408889634f)
#define fma(a, b, c) __builtin_fmaf(a, b, c)
#define fmax(a, b) __builtin_fmaxf(a, b)
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define isequal(a, b) ((a) == (b))
"""


def tool(name, default):
    return os.environ.get(name, default)


def build(path, kernel, which, work):
    source = open(path).read()
    if path.endswith(".cu"):
        open(f"{work}/k.cu", "w").write(cuda_kernel(source, kernel, which, path))
        subprocess.run([tool("NVCC", "/usr/bin/nvcc"), "-arch=sm_90", "-ptx", "-w", f"{work}/k.cu", "-o", f"{work}/k.ptx"], check=True)
    else:
        program = opencl_program(source, kernel, which, path).replace("#pragma OPENCL EXTENSION cl_khr_fp16 : enable", "")
        open(f"{work}/k.cl", "w").write(BUILTINS + program)
        subprocess.run([tool("CLANG", "clang-15"), "-x", "cl", "-cl-std=CL1.2", "-target", "nvptx64-nvidia-nvcl", "-march=sm_80",
                        "-O3", "-cl-mad-enable", "-w", "-S", f"{work}/k.cl", "-o", f"{work}/k.ptx"], check=True)
        ptx = open(f"{work}/k.ptx").read().replace(", texmode_independent", "")
        open(f"{work}/k.ptx", "w").write(ptx)
    out = subprocess.run([tool("PTXAS", "/usr/bin/ptxas"), "-arch=sm_90", "-v", f"{work}/k.ptx", "-o", f"{work}/k.cubin"],
                         check=True, capture_output=True, text=True)
    registers = [line.strip() for line in (out.stdout + out.stderr).splitlines() if "registers" in line]
    dump = subprocess.run([tool("CUOBJDUMP", "cuobjdump"), "-sass", f"{work}/k.cubin"], capture_output=True, text=True)
    if dump.returncode != 0:
        # A cuobjdump older than the ptxas cannot read its cubin: the registers are still worth printing.
        raise SystemExit(f"{kernel}: {'; '.join(registers)}\ncuobjdump could not read the cubin ({dump.stderr.strip()}): "
                         "take ptxas and cuobjdump from one toolkit for the listing")
    return registers, dump.stdout


def instructions(sass, kernel):
    out, current = [], None
    for line in sass.splitlines():
        m = re.match(r"\s+Function : (\S+)", line)
        if m:
            current = m.group(1)
        m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
        if m and current == kernel:
            out.append((int(m.group(1), 16), m.group(2).strip()))
    return out


def opcode(text):
    words = text.split()
    op = words[1] if words[0].startswith("@") else words[0]
    # Loads and stores keep their width and space (LDS.128, LDG.E), the rest their base name.
    return ".".join(op.split(".")[:2]) if op.startswith(("LD", "ST")) else op.split(".")[0]


def ahead(code, start, end):
    """Global loads issued before the loop's first float instruction, of all its global loads.

    Fewer registers are no gain when they come from ptxas interleaving a step's loads with the arithmetic: fewer loads
    are then in flight and the memory latency shows (docs/measurements/2026-12-05-h100-dot8.md)."""
    ops = [opcode(t) for a, t in code if start <= a <= end]
    loads = [op for op in ops if op in ("LD.E", "LDG.E")]
    first = next((i for i, op in enumerate(ops) if op in ("FFMA", "FMUL", "FADD")), len(ops))
    before = sum(op in ("LD.E", "LDG.E") for op in ops[:first])
    return f"; global loads before the first float op {before}/{len(loads)}" if loads else ""


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    kernel = sys.argv[2] if len(sys.argv) > 2 else "attend"
    which = sys.argv[3] if len(sys.argv) > 3 else "last"
    with tempfile.TemporaryDirectory() as work:
        registers, sass = build(sys.argv[1], kernel, which, work)
    code = instructions(sass, kernel)
    print(f"{kernel}: {len(code)} instructions; {'; '.join(registers)}")
    for at, text in code:
        target = re.search(r"BRA\s+.*?0x([0-9a-f]+)", text)
        if not target or int(target.group(1), 16) >= at or (at - int(target.group(1), 16)) // 16 <= 40:
            continue
        start = int(target.group(1), 16)
        counts = collections.Counter(opcode(t) for a, t in code if start <= a <= at)
        floats = ", ".join(f"{op} {counts[op]}" for op in ("FFMA", "FMUL", "FADD") if counts[op])
        memory = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()) if op.startswith(("LD", "ST")))
        print(f"  loop at {start:#x}: {sum(counts.values())} instructions; {floats or 'no float math'}; {memory}"
              f"{ahead(code, start, at)}")


if __name__ == "__main__":
    main()
