package org.hysparse.cli;

import java.util.EnumSet;
import java.util.Set;
import org.hysparse.api.*;

/**
 * Test-classpath-only backend that gets the logit scale wrong by 10%: proves that
 * {@code hysparse conformance} reports a failing backend and exits 1.
 */
public final class BrokenScaleProvider implements AttentionBackendProvider {
    @Override public String name() { return "broken-scale"; }
    @Override public int priority() { return -10; }
    @Override public Availability availability() { return Availability.available("test double"); }
    @Override public String device() { return "none"; }
    @Override public Set<KvPrecision> precisions() { return EnumSet.of(KvPrecision.FLOAT32); }

    @Override
    public AttentionBackend create(BackendOptions options) {
        AttentionBackend ref = Backends.fromClasspath().create("reference", options);
        return new AttentionBackend() {
            @Override public String name() { return "broken-scale"; }
            @Override public Set<KvPrecision> precisions() { return EnumSet.of(KvPrecision.FLOAT32); }
            @Override public void oracle(OracleRequest r, OracleOutput o) {
                ref.oracle(new OracleRequest(r.queries(), r.kv(), r.geometry(), r.scale() * 1.1f, r.scores(), r.sink()), o);
            }
            @Override public BlockSelection select(SelectionRequest r) { return ref.select(r); }
            @Override public void sparse(SparseRequest r, float[] out) { ref.sparse(r, out); }
            @Override public DroppedMass droppedMass(DroppedMassRequest r) { return ref.droppedMass(r); }
            @Override public void close() { ref.close(); }
        };
    }
}
