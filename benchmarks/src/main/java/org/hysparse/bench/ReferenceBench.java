package org.hysparse.bench;

import java.util.concurrent.TimeUnit;
import org.hysparse.api.*;
import org.openjdk.jmh.annotations.*;

/**
 * The same operations at sizes the float64 reference finishes in seconds, on both backends in one run:
 * decode at T = 8192 and a causal prefill of 512 positions. Speed-ups are taken at equal sizes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g"})
@State(Scope.Benchmark)
public class ReferenceBench {
    @Param({"reference", "cpu"})
    public String backend;

    AttentionBackend b;
    KvCache decodeCache, prefillCache;
    OracleRequest decode, prefill;
    OracleOutput decodeOut, prefillOut;

    @Setup(Level.Trial)
    public void setUp() {
        b = Shapes.backend(backend);
        decodeCache = Shapes.cache(8192, KvPrecision.FLOAT32, 1);
        decode = OracleRequest.of(Shapes.queries(1, 8192, 3), decodeCache, BlockGeometry.of(Shapes.B));
        decodeOut = OracleOutput.allocate(decode);
        prefillCache = Shapes.cache(512, KvPrecision.FLOAT32, 4);
        prefill = OracleRequest.of(Shapes.queries(512, 512, 5), prefillCache, BlockGeometry.of(Shapes.B));
        prefillOut = OracleOutput.allocate(prefill);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }

    @Benchmark
    public float[] decode8k() {
        b.oracle(decode, decodeOut);
        return decodeOut.out();
    }

    @Benchmark
    public float[] prefill512() {
        b.oracle(prefill, prefillOut);
        return prefillOut.out();
    }
}
