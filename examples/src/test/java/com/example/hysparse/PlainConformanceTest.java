package com.example.hysparse;

import org.hysparse.api.AttentionBackend;
import org.hysparse.api.BackendOptions;
import org.hysparse.conformance.AttentionBackendVerification;

/** The documented route: one subclass, and the kit runs every rule in every precision against this backend. */
class PlainConformanceTest extends AttentionBackendVerification {
    @Override
    protected AttentionBackend createBackend() {
        return new PlainProvider().create(BackendOptions.none());
    }
}
