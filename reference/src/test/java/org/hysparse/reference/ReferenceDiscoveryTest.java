package org.hysparse.reference;

import static org.junit.jupiter.api.Assertions.*;

import org.hysparse.api.BackendNotFoundException;
import org.hysparse.api.BackendOptions;
import org.hysparse.api.Backends;
import org.junit.jupiter.api.Test;

class ReferenceDiscoveryTest {
    @Test
    void serviceLoaderFindsReferenceOnAPlainClasspath() {
        Backends b = Backends.fromClasspath();
        assertTrue(b.find("reference").isPresent(), b.listing());
        try (var backend = b.create("reference", BackendOptions.none())) {
            assertEquals("reference", backend.name());
        }
    }

    @Test
    void unknownNameGivesTheListing() {
        BackendNotFoundException e = assertThrows(BackendNotFoundException.class,
                () -> Backends.fromClasspath().create("nope", BackendOptions.none()));
        assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
        assertTrue(e.getMessage().contains("reference (priority 0, available"), e.getMessage());
    }
}
