package org.hysparse.api;

import java.util.Objects;

/** Whether a provider can create a backend here, and a human reason either way. */
public record Availability(boolean available, String reason) {
    public Availability {
        Objects.requireNonNull(reason, "reason");
    }

    public static Availability available(String reason) {
        return new Availability(true, reason);
    }

    public static Availability unavailable(String reason) {
        return new Availability(false, reason);
    }
}
