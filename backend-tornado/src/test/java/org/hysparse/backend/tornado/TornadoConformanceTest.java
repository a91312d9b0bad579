package org.hysparse.backend.tornado;

import org.hysparse.api.AttentionBackend;
import org.hysparse.api.BackendOptions;
import org.hysparse.conformance.AttentionBackendVerification;

/** The kit on the TornadoVM device chosen by -Dhysparse.tornado.device (default: first GPU, else first device). */
class TornadoConformanceTest extends AttentionBackendVerification {
    @Override
    protected AttentionBackend createBackend() {
        TornadoProvider p = new TornadoProvider();
        org.junit.jupiter.api.Assumptions.assumeTrue(p.availability().available(), "tornado unavailable: " + p.availability().reason());
        return p.create(BackendOptions.none().with("device", System.getProperty("hysparse.tornado.device", "")));
    }
}
