package org.hysparse.bench;

import java.util.concurrent.TimeUnit;
import org.hysparse.api.*;
import org.openjdk.jmh.annotations.*;

/** Causal prefill through the oracle: every position of a context attends to all before it. */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx10g", "-XX:+UseParallelGC"})
@State(Scope.Benchmark)
public class PrefillBench {
    @Param({"cpu"})
    public String backend;
    @Param({"fp32", "fp16"})
    public String kv;
    @Param({"2048", "8192"})
    public int tokens;

    AttentionBackend b;
    KvCache cache;
    OracleRequest req;
    OracleOutput out;

    @Setup(Level.Trial)
    public void setUp() {
        b = Shapes.backend(backend);
        cache = Shapes.cache(tokens, KvPrecision.parse(kv), 1);
        req = OracleRequest.of(Shapes.queries(tokens, tokens, 3), cache, BlockGeometry.of(Shapes.B));
        out = OracleOutput.allocate(req);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
        cache.close();
    }

    @Benchmark
    public float[] prefill() {
        b.oracle(req, out);
        return out.out();
    }
}
