package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackendsTest {
    private record Fake(String name, int priority, Availability availability) implements AttentionBackendProvider {
        @Override public String device() { return "test"; }
        @Override public Set<KvPrecision> precisions() { return Set.of(KvPrecision.FLOAT32); }
        @Override public AttentionBackend create(BackendOptions options) { throw new UnsupportedOperationException(); }
    }

    private final Backends backends = Backends.of(List.of(
            new Fake("slow", 0, Availability.available("always")),
            new Fake("fast", 10, Availability.available("vector units")),
            new Fake("gpu", 100, Availability.unavailable("no GPU found"))));

    @Test
    void defaultIsTheAvailableProviderOfHighestPriority() {
        assumeNoOverride();
        Backends.Choice c = backends.chooseDefault();
        assertEquals("fast", c.provider().name());
        assertTrue(c.reason().contains("highest priority"), c.reason());
    }

    @Test
    void unknownNameListsWhatIsOnTheClasspathAndWhy() {
        BackendNotFoundException e = assertThrows(BackendNotFoundException.class, () -> backends.require("tpu"));
        String m = e.getMessage();
        assertTrue(m.contains("'tpu'"), m);
        assertTrue(m.contains("fast (priority 10, available: vector units)"), m);
        assertTrue(m.contains("gpu (priority 100, unavailable: no GPU found)"), m);
    }

    @Test
    void unavailableNameSaysWhy() {
        BackendNotFoundException e = assertThrows(BackendNotFoundException.class, () -> backends.require("gpu"));
        assertTrue(e.getMessage().contains("unavailable: no GPU found"), e.getMessage());
    }

    @Test
    void systemPropertyOverridesTheDefault() {
        String old = System.getProperty(Backends.PROPERTY);
        System.setProperty(Backends.PROPERTY, "slow");
        try {
            Backends.Choice c = backends.chooseDefault();
            assertEquals("slow", c.provider().name());
            assertTrue(c.reason().contains(Backends.PROPERTY), c.reason());
        } finally {
            if (old == null) System.clearProperty(Backends.PROPERTY); else System.setProperty(Backends.PROPERTY, old);
        }
    }

    @Test
    void aRunReportsTheDeviceItsBackendWasCreatedOnElseTheProvidersDefault() {
        AttentionBackendProvider provider = new Fake("fast", 10, Availability.available("vector units"));
        assertEquals("test", Backends.device(provider, backend("")), "an instance that says nothing: the provider's default");
        assertEquals("GPU 1 of 2", Backends.device(provider, backend("GPU 1 of 2")), "an instance on another device than the default");
    }

    /** A backend that only describes its device. */
    private static AttentionBackend backend(String device) {
        return new AttentionBackend() {
            @Override public String name() { return "fast"; }
            @Override public Set<KvPrecision> precisions() { return Set.of(KvPrecision.FLOAT32); }
            @Override public String device() { return device.isEmpty() ? AttentionBackend.super.device() : device; }
            @Override public void oracle(OracleRequest request, OracleOutput output) { throw new UnsupportedOperationException(); }
            @Override public BlockSelection select(SelectionRequest request) { throw new UnsupportedOperationException(); }
            @Override public void sparse(SparseRequest request, float[] out) { throw new UnsupportedOperationException(); }
            @Override public DroppedMass droppedMass(DroppedMassRequest request) { throw new UnsupportedOperationException(); }
            @Override public void close() { }
        };
    }

    @Test
    void optionsParse() {
        BackendOptions o = BackendOptions.parse("threads=3, device=0:1");
        assertEquals(3, o.getInt("threads", 1));
        assertEquals("0:1", o.get("device", ""));
        assertThrows(IllegalArgumentException.class, () -> BackendOptions.parse("threads"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> o.with("threads", "x").getInt("threads", 1));
        assertTrue(e.getMessage().contains("option threads"), e.getMessage());
    }

    private static void assumeNoOverride() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Backends.requestedName().isEmpty(),
                "HYSPARSE_BACKEND is set in this environment; the default-choice test needs it unset");
    }
}
