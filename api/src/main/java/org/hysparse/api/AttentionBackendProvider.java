package org.hysparse.api;

import java.util.Set;

/**
 * A backend as found through {@link java.util.ServiceLoader}: register the implementation in
 * {@code META-INF/services/org.hysparse.api.AttentionBackendProvider}. Must be cheap to construct and
 * never throw from {@link #availability()}: report what is missing instead.
 */
public interface AttentionBackendProvider {

    /** Unique lower-case name, e.g. {@code cpu}. */
    String name();

    /** Higher wins when no backend is named; {@code reference} is 0. May depend on the hardware found. */
    int priority();

    /** Whether {@link #create} can work on this machine, and why (or why not). */
    Availability availability();

    /** Human description of the device it runs on. */
    String device();

    /** KV precisions the backend reads. */
    Set<KvPrecision> precisions();

    /** A new backend; the caller closes it. Throws {@link IllegalStateException} when unavailable. */
    AttentionBackend create(BackendOptions options);
}
