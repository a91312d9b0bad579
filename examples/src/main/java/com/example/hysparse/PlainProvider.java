package com.example.hysparse;

import java.util.EnumSet;
import java.util.Set;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.AttentionBackendProvider;
import org.hysparse.api.Availability;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.KvPrecision;

/**
 * Registers backend {@code plain} (see {@code META-INF/services/org.hysparse.api.AttentionBackendProvider}).
 * Priority 10: above {@code reference} (0) so that it is preferred to the slow judge, below {@code cpu} (100)
 * so that putting it on a classpath never silently replaces a faster backend; it is used when named.
 */
public final class PlainProvider implements AttentionBackendProvider {
    @Override public String name() { return "plain"; }

    @Override public int priority() { return 10; }

    @Override public Availability availability() { return Availability.available("pure Java, runs anywhere"); }

    @Override public String device() { return "JVM, calling thread"; }

    @Override public Set<KvPrecision> precisions() { return EnumSet.allOf(KvPrecision.class); }

    @Override
    public AttentionBackend create(BackendOptions options) {
        return new PlainBackend();
    }
}
