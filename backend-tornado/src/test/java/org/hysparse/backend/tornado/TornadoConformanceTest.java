package org.hysparse.backend.tornado;

import org.hysparse.api.AttentionBackend;
import org.hysparse.conformance.AttentionBackendVerification;

/** The kit on the TornadoVM device chosen by -Dhysparse.tornado.device (default: see Devices.DEFAULT_RULE). */
class TornadoConformanceTest extends AttentionBackendVerification {
    @Override
    protected AttentionBackend createBackend() {
        return OnDevice.tornado();
    }
}
