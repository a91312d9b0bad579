package org.hysparse.bench;

import java.util.concurrent.TimeUnit;
import org.hysparse.api.*;
import org.openjdk.jmh.annotations.*;

/** Decode (one query row): the dense oracle layer and the sparse layer, at long contexts. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx10g", "-XX:+UseParallelGC"})
@State(Scope.Benchmark)
public class DecodeBench {
    @Param({"cpu"})
    public String backend;
    @Param({"fp32", "fp16"})
    public String kv;
    @Param({"8192", "32768", "131072"})
    public int tokens;

    AttentionBackend b;
    KvCache cache;
    SwaCache swa;
    OracleRequest oracle;
    OracleOutput oracleOut;
    SparseRequest[] sparse;
    float[] out;

    static final int[] K = {16, 32, 64};

    @Setup(Level.Trial)
    public void setUp() {
        KvPrecision p = KvPrecision.parse(kv);
        b = Shapes.backend(backend);
        cache = Shapes.cache(tokens, p, 1);
        swa = Shapes.window(tokens, p, 2);
        Queries q = Shapes.queries(1, tokens, 3);
        oracle = OracleRequest.of(q, cache, BlockGeometry.of(Shapes.B));
        oracleOut = OracleOutput.allocate(oracle);
        b.oracle(oracle, oracleOut);
        float[] gates = new float[Shapes.HQ];
        java.util.Arrays.fill(gates, 0.5f);
        sparse = new SparseRequest[K.length];
        for (int i = 0; i < K.length; i++) {
            BlockSelection sel = b.select(new SelectionRequest(oracleOut.scores(), SelectionPolicy.TopK.of(K[i])));
            sparse[i] = SparseRequest.of(q, cache.view(), sel, swa, Shapes.W, gates, gates);
        }
        out = new float[Shapes.HQ * Shapes.D];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
        cache.close();
        swa.close();
    }

    @Benchmark
    public float[] denseOracle() {
        b.oracle(oracle, oracleOut);
        return oracleOut.out();
    }

    /** SPEC 2 for the decode row: TopK 32 of the oracle's block scores (every sparse layer of a step reuses it). */
    @Benchmark
    public BlockSelection selectK32() {
        return b.select(new SelectionRequest(oracleOut.scores(), SelectionPolicy.TopK.of(K[1])));
    }

    @Benchmark
    public float[] sparseK16() {
        b.sparse(sparse[0], out);
        return out;
    }

    @Benchmark
    public float[] sparseK32() {
        b.sparse(sparse[1], out);
        return out;
    }

    @Benchmark
    public float[] sparseK64() {
        b.sparse(sparse[2], out);
        return out;
    }
}
