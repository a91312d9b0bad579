package org.hysparse.backend.cpu;

import java.util.EnumSet;
import java.util.Set;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.AttentionBackendProvider;
import org.hysparse.api.Availability;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.KvPrecision;

/**
 * Registers {@code cpu}. Touches no Vector API class itself: without {@code --add-modules jdk.incubator.vector}
 * the backend runs its plain float32 loops (not the float64 reference) and says so.
 */
public final class CpuProvider implements AttentionBackendProvider {
    public static final String NAME = "cpu";
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    /** The system property forcing the vector width (see {@link VectorInfo}). */
    static final String VECTOR_BITS = "hysparse.cpu.vectorBits";

    /**
     * Why {@code bits} cannot be a forced vector width, or null when it can (or none is forced). Here, not in
     * {@link VectorInfo}, so that the provider can say it without loading a Vector API class.
     */
    static String badVectorBits(String bits) {
        if (bits == null || bits.isBlank() || java.util.Set.of("0", "128", "256", "512").contains(bits.trim())) return null;
        return VECTOR_BITS + ": expected 0 (plain loops), 128, 256 or 512 but got '" + bits + "'";
    }

    /** Whether the JVM has the Vector API module (started with {@code --add-modules jdk.incubator.vector}). */
    static boolean vectorModule() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /**
     * The plain float32 path instead of the Vector API: where the module is missing, or forced by
     * {@code -Dhysparse.cpu.vectorBits=0} (as Lucene's vectorization provider can be forced to its fallback, so that
     * the tests run this path on any machine).
     */
    static boolean plainPath() {
        String bits = System.getProperty(VECTOR_BITS);
        return !vectorModule() || (bits != null && bits.trim().equals("0"));
    }

    /** Which path the kernels take and why, for the availability reason, the device line and the log. */
    static String path() {
        if (!vectorModule()) {
            return "plain float32 loops: the JVM was started without --add-modules " + VECTOR_MODULE + " (add it for the vectorised path)";
        }
        if (plainPath()) return "plain float32 loops: forced by -D" + VECTOR_BITS + "=0";
        return VectorInfo.describe();
    }

    @Override public String name() { return NAME; }

    /** Above {@code reference} (0): the default wherever it runs. */
    @Override public int priority() { return 100; }

    @Override
    public Availability availability() {
        String bad = badVectorBits(System.getProperty(VECTOR_BITS));
        if (bad != null) return Availability.unavailable(bad);
        if (plainPath()) return Availability.available(path() + ", " + Runtime.getRuntime().availableProcessors() + " cores");
        return Availability.available("Vector API present, " + Runtime.getRuntime().availableProcessors() + " cores");
    }

    @Override
    public String device() {
        return device(Runtime.getRuntime().availableProcessors() + " cores");
    }

    /** This machine's CPU as a backend with {@code workers} ("16 cores", "4 threads") uses it. */
    private String device(String workers) {
        String arch = System.getProperty("os.arch");
        if (!availability().available()) return "CPU (" + arch + ")";
        return "CPU (" + arch + ", " + workers + ", " + path() + ")";
    }

    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    /** Options: {@code threads} (default: available processors; 1 runs every task on one worker). */
    @Override
    public AttentionBackend create(BackendOptions options) {
        Availability a = availability();
        if (!a.available()) throw new IllegalStateException("backend cpu unavailable: " + a.reason());
        int threads = options.getInt("threads", Runtime.getRuntime().availableProcessors());
        if (threads < 1) throw new IllegalArgumentException("threads: expected >= 1 but got " + threads);
        System.getLogger(CpuProvider.class.getName()).log(System.Logger.Level.INFO,
                "cpu backend: " + threads + " threads, " + path());
        return new CpuBackend(threads, device(threads + (threads == 1 ? " thread" : " threads") + " of " + Runtime.getRuntime().availableProcessors() + " cores"));
    }
}
