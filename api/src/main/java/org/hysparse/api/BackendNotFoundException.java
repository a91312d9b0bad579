package org.hysparse.api;

/** A requested backend is not on the classpath or not available; the message lists what is. */
public final class BackendNotFoundException extends IllegalArgumentException {
    public BackendNotFoundException(String message) {
        super(message);
    }
}
