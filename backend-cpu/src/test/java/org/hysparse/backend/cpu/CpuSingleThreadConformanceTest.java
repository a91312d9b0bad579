package org.hysparse.backend.cpu;

import java.util.EnumSet;
import java.util.Set;
import org.hysparse.api.AttentionBackend;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.KvPrecision;
import org.hysparse.conformance.AttentionBackendVerification;

/** threads = 1 must work too: the kit in float32 on a one-worker pool. */
class CpuSingleThreadConformanceTest extends AttentionBackendVerification {
    @Override
    protected AttentionBackend createBackend() {
        return new CpuProvider().create(BackendOptions.parse("threads=1"));
    }

    @Override
    protected Set<KvPrecision> precisions() {
        return EnumSet.of(KvPrecision.FLOAT32);
    }
}
