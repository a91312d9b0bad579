package org.hysparse.backend.tornado;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Page-locks host memory through the CUDA driver itself (libcuda, called through {@code java.lang.foreign}), for
 * the arrays whose copies a CUDA graph captures (see {@link HostArrays}).
 *
 * <p>Why not TornadoVM's own pins: a captured copy node keeps its host address and DMAs from it on every replay, which
 * works only while those pages stay page-locked. TornadoVM 5.2 pins the host side of each array it allocates, but on
 * its CUDA driver closing any execution plan unregisters every pin it made in the context (its pinned-memory
 * registry's {@code unpinAll} on plan teardown), those under other plans' captured graphs too; their next replay then
 * failed (CUDA_ERROR_LAUNCH_FAILED in the kit, after a plan of another cache closed). A range that is
 * already registered TornadoVM records as pinned by someone else and never unregisters, so pages locked here stay
 * locked until their plan closes.
 */
final class HostPins implements AutoCloseable {
    /** CU_MEMHOSTREGISTER_PORTABLE: page-locked for every CUDA context, whichever is current. */
    private static final int PORTABLE = 1;

    /** Keeps libcuda.so.1 looked up (loaded) while this lives. */
    private final Arena library;
    private final MethodHandle setCurrent, register, unregister;
    /** The CUDA context TornadoVM created (current on the thread that started its runtime). */
    private final MemorySegment context;

    private HostPins(Arena library) {
        this.library = library;
        SymbolLookup cuda = SymbolLookup.libraryLookup("libcuda.so.1", library);
        Linker linker = Linker.nativeLinker();
        MethodHandle getCurrent = linker.downcallHandle(symbol(cuda, "cuCtxGetCurrent"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        setCurrent = linker.downcallHandle(symbol(cuda, "cuCtxSetCurrent"), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        register = linker.downcallHandle(symbol(cuda, "cuMemHostRegister_v2"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        unregister = linker.downcallHandle(symbol(cuda, "cuMemHostUnregister"), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment slot = a.allocate(ValueLayout.ADDRESS);
            call("cuCtxGetCurrent", getCurrent, slot);
            context = slot.get(ValueLayout.ADDRESS, 0);
        }
        if (context.address() == 0) {
            throw new IllegalStateException("launch=graph: no CUDA context is current on the thread that created the backend "
                    + "(TornadoVM's runtime was started on another thread); create the backend on the thread that first uses TornadoVM");
        }
    }

    /** The driver of the process (TornadoVM's CUDA driver has loaded it); call on the thread that started TornadoVM. */
    static HostPins open() {
        Arena library = Arena.ofShared();
        try {
            return new HostPins(library);
        } catch (RuntimeException e) {
            library.close();
            throw e instanceof IllegalStateException ise ? ise
                    : new IllegalStateException("launch=graph: cannot call the CUDA driver (libcuda.so.1) to page-lock host memory: " + e, e);
        }
    }

    /** Page-locks {@code pages} (whole pages of its own, so that no other array shares them). */
    void pin(MemorySegment pages) {
        call("cuCtxSetCurrent", setCurrent, context);
        call("cuMemHostRegister", register, pages, pages.byteSize(), PORTABLE);
    }

    /** Undoes {@link #pin}; the plan whose graphs copy from {@code pages} must be closed. */
    void unpin(MemorySegment pages) {
        call("cuCtxSetCurrent", setCurrent, context);
        call("cuMemHostUnregister", unregister, pages);
    }

    /** One driver call that must return CUDA_SUCCESS. */
    private static void call(String name, MethodHandle function, Object... args) {
        int result;
        try {
            result = (int) function.invokeWithArguments(args);
        } catch (Throwable e) {
            throw new IllegalStateException(name + " failed: " + e, e);
        }
        if (result != 0) throw new IllegalStateException(name + " failed: CUresult=" + result);
    }

    private static MemorySegment symbol(SymbolLookup cuda, String name) {
        return cuda.find(name).orElseThrow(() -> new IllegalStateException("libcuda.so.1 has no " + name));
    }

    @Override
    public void close() {
        library.close();
    }
}
