package org.hysparse.backend.tornado;

import java.util.EnumSet;
import java.util.Set;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.AttentionBackendProvider;
import org.hysparse.api.Availability;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.KvPrecision;

/**
 * Registers {@code tornado}. Loads no TornadoVM class itself: on a JVM started without TornadoVM's
 * modules it reports why it is unavailable instead of failing the whole ServiceLoader scan.
 */
public final class TornadoProvider implements AttentionBackendProvider {
    public static final String NAME = "tornado";
    static final String RUNTIME_MODULE = "tornado.runtime";
    /** TornadoVM's switch for running a failed task as sequential Java instead of throwing. */
    static final String RECOVER_BAILOUT = "tornado.recover.bailout";
    private static final System.Logger LOG = System.getLogger(TornadoProvider.class.getName());

    @Override public String name() { return NAME; }

    /** Above cpu (100) only when a GPU is present; otherwise below it. */
    @Override
    public int priority() {
        return runtimePresent() && Devices.hasGpu() ? 200 : 50;
    }

    @Override
    public Availability availability() {
        if (!runtimePresent()) {
            return Availability.unavailable("TornadoVM runtime not on the module path (run with the flags of TornadoVM's "
                    + "'tornado --printJavaFlags', TORNADOVM_HOME set; see README)");
        }
        return Devices.availability();
    }

    @Override
    public String device() {
        return runtimePresent() ? Devices.describeDefault() : "TornadoVM (not loaded)";
    }

    /** All three storage precisions, each kept in its own width on the device (16-bit values decoded in the kernels). */
    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    /**
     * Options: {@code device=B:D} (TornadoVM backend and device index) or {@code device=NAME} (substring);
     * {@code float16=native|words}, how float16 caches are read (see {@link Devices#nativeHalf}); {@code launch=calls|graph},
     * whether a call on a cache runs as one CUDA graph (the CUDA driver's default; see {@link Devices#graphs});
     * {@code specialize=pool|none}, whether each pool's kernels are compiled for its shape (see {@link Devices#specialized});
     * {@code prefill=mma|tile}, whether float16 prefill runs on tensor cores (see {@link Devices#tensorCores});
     * {@code memory=16GB}, the device memory the backend may hold (default: TornadoVM's {@code tornado.device.memory},
     * which TornadoVM itself enforces too, so raise both).
     */
    @Override
    public AttentionBackend create(BackendOptions options) {
        Availability a = availability();
        if (!a.available()) throw new IllegalStateException("backend tornado unavailable: " + a.reason());
        String spec = options.get("device", "");
        Devices.Found device = Devices.choose(spec);
        boolean nativeHalf = Devices.nativeHalf(device, options.get("float16", ""));
        boolean specialized = Devices.specialized(options.get("specialize", ""));
        boolean tensorCores = Devices.tensorCores(device, options.get("prefill", ""));
        String launch = options.get("launch", "");
        HostPins pins = pins(Devices.graphs(device, launch), launch);
        // Which device a run (a conformance report, a benchmark) was on, and why that one.
        LOG.log(System.Logger.Level.INFO, "tornado backend on TornadoVM device {0}: {1}; float16 caches read as {2}; calls on a cache run {3}; kernels {4}; float16 prefill on {5}", device.label(),
                spec.isBlank() ? Devices.DEFAULT_RULE + " (option device=B:D or NAME picks another)" : "named by option device=" + spec,
                nativeHalf ? "half arrays, each number converted by the device" : "16-bit words decoded through a table",
                pins != null ? "as CUDA graphs (captured once, replayed; option launch=calls runs them one by one)"
                        : "as TornadoVM's copies and launches one by one",
                specialized ? "compiled for each pool's block size, head dim and KV heads (option specialize=none reads them from parameters)"
                        : "reading pool shapes from their parameters (option specialize=none)",
                tensorCores && nativeHalf ? "tensor cores (option prefill=mma; passes the kit, not yet faster than CUDA cores, docs/adr/0008)" : "CUDA cores");
        if (!"false".equalsIgnoreCase(System.getProperty(RECOVER_BAILOUT, "true"))) {
            LOG.log(System.Logger.Level.WARNING, "tornado: " + RECOVER_BAILOUT + " is on (TornadoVM's default): a kernel whose compile or launch "
                    + "fails then runs as sequential Java, which gives this backend's outputs wrong without an error; run with -D"
                    + RECOVER_BAILOUT + "=False (the hysparse launcher does)");
        }
        // The device memory the backend may hold: option memory=, else TornadoVM's own limit (tornado.device.memory).
        long memory = options.getBytes("memory", BackendOptions.parseBytes("-Dtornado.device.memory",
                System.getProperty("tornado.device.memory", "4GB")));
        return new TornadoBackend(device, nativeHalf, pins, memory, specialized, tensorCores);
    }

    /**
     * The page-locking CUDA graphs need ({@link HostPins}), or null to run calls one by one. Asked for by option
     * ({@code launch=graph}) it must work; taken by default, a failure runs calls instead and says why.
     */
    private static HostPins pins(boolean graphs, String launch) {
        if (!graphs) return null;
        try {
            return HostPins.open();
        } catch (IllegalStateException e) {
            if (!launch.isBlank()) throw e;
            LOG.log(System.Logger.Level.WARNING, "tornado: calls run one by one, not as CUDA graphs: " + e.getMessage());
            return null;
        }
    }

    private static boolean runtimePresent() {
        return ModuleLayer.boot().findModule(RUNTIME_MODULE).isPresent();
    }
}
