package org.hysparse.conformance;

import org.hysparse.api.AttentionBackend;
import org.hysparse.reference.ReferenceBackend;

/** The kit, as an implementer would use it, run on the reference itself. */
class ReferenceConformanceTest extends AttentionBackendVerification {
    @Override
    protected AttentionBackend createBackend() {
        return new ReferenceBackend();
    }
}
