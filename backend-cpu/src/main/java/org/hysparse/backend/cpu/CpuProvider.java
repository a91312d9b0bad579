package org.hysparse.backend.cpu;

import java.util.EnumSet;
import java.util.Set;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.AttentionBackendProvider;
import org.hysparse.api.Availability;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.KvPrecision;

/**
 * Registers {@code cpu}. Touches no Vector API class itself, so that without
 * {@code --add-modules jdk.incubator.vector} it can still say why it is unavailable.
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
        if (bits == null || bits.isBlank() || java.util.Set.of("128", "256", "512").contains(bits.trim())) return null;
        return VECTOR_BITS + ": expected 128, 256 or 512 but got '" + bits + "'";
    }

    @Override public String name() { return NAME; }

    /** Above {@code reference} (0): the default wherever it runs. */
    @Override public int priority() { return 100; }

    @Override
    public Availability availability() {
        if (ModuleLayer.boot().findModule(VECTOR_MODULE).isEmpty()) {
            return Availability.unavailable("the JVM was started without --add-modules " + VECTOR_MODULE);
        }
        String bad = badVectorBits(System.getProperty(VECTOR_BITS));
        if (bad != null) return Availability.unavailable(bad);
        return Availability.available("Vector API present, " + Runtime.getRuntime().availableProcessors() + " cores");
    }

    @Override
    public String device() {
        String arch = System.getProperty("os.arch");
        if (!availability().available()) return "CPU (" + arch + ")";
        return "CPU (" + arch + ", " + Runtime.getRuntime().availableProcessors() + " cores, " + VectorInfo.describe() + ")";
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
                "cpu backend: " + threads + " threads, " + VectorInfo.describe());
        return new CpuBackend(threads);
    }
}
