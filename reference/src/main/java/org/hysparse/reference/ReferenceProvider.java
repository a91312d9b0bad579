package org.hysparse.reference;

import java.util.EnumSet;
import java.util.Set;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.AttentionBackendProvider;
import org.hysparse.api.Availability;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.KvPrecision;

/** Registers {@link ReferenceBackend} as {@code reference}, the lowest priority: never the fast choice. */
public final class ReferenceProvider implements AttentionBackendProvider {
    public static final String NAME = "reference";

    @Override public String name() { return NAME; }
    @Override public int priority() { return 0; }
    @Override public Availability availability() { return Availability.available("pure Java, runs anywhere"); }
    @Override public String device() { return "JVM, one thread, float64 scalar loops"; }
    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }
    @Override public AttentionBackend create(BackendOptions options) { return new ReferenceBackend(); }
}
