package org.hysparse.backend.cpu;

import org.hysparse.api.AttentionBackend;
import org.hysparse.api.BackendOptions;
import org.hysparse.conformance.AttentionBackendVerification;

/** The kit in every KV precision (float32, float16, bfloat16), on the default thread count. */
class CpuConformanceTest extends AttentionBackendVerification {
    @Override
    protected AttentionBackend createBackend() {
        return new CpuProvider().create(BackendOptions.none());
    }
}
