package org.hysparse.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.hysparse.api.*;
import org.openjdk.jmh.annotations.*;

/**
 * Continuous batching, one decode step: {@code batch} sequences of mixed lengths (uniform in
 * {@code minTokens..maxTokens}) in one {@link KvPool}, the dense oracle layer and the sparse layer (the paper's
 * k = 16) as one batched call each. Tokens/s is {@code batch} over the time of a call; the dense layer's KV
 * bytes a second are every sequence's whole cache over it ({@link #kvBytes()} is printed at set-up).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx12g", "-XX:+UseParallelGC"})
@State(Scope.Benchmark)
public class BatchDecodeBench {
    @Param({"cpu"})
    public String backend;
    @Param({"fp16"})
    public String kv;
    @Param({"1", "8", "32"})
    public int batch;
    @Param({"4096"})
    public int minTokens;
    @Param({"32768"})
    public int maxTokens;

    AttentionBackend b;
    KvPool pool;
    final List<SwaCache> windows = new ArrayList<>();
    OracleBatch oracle;
    List<OracleOutput> oracleOut;
    SparseBatch sparse;
    List<float[]> sparseOut;

    @Setup(Level.Trial)
    public void setUp() {
        KvPrecision p = KvPrecision.parse(kv);
        b = Shapes.backend(backend);
        pool = new KvPool(Shapes.HKV, Shapes.D, Shapes.B, p);
        SplittableRandom rnd = new SplittableRandom(11);
        List<OracleRequest> ors = new ArrayList<>();
        List<KvCache> seqs = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            int tokens = minTokens + rnd.nextInt(maxTokens - minTokens + 1);
            KvCache c = pool.newSequence();
            for (int t = 0; t < tokens; t += 4096) {
                int n = Math.min(4096, tokens - t);
                c.append(Shapes.random(rnd, n * Shapes.HKV * Shapes.D), Shapes.random(rnd, n * Shapes.HKV * Shapes.D), n);
            }
            seqs.add(c);
            windows.add(Shapes.window(tokens, p, 100 + i));
            ors.add(OracleRequest.of(Shapes.queries(1, tokens, 200 + i), c, BlockGeometry.of(Shapes.B)));
        }
        oracle = new OracleBatch(ors);
        oracleOut = b.oracle(oracle);
        float[] gates = new float[Shapes.HQ * Shapes.D];
        java.util.Arrays.fill(gates, 0.5f);
        List<SparseRequest> srs = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            BlockSelection sel = b.select(new SelectionRequest(oracleOut.get(i).scores(), SelectionPolicy.TopK.paper()));
            srs.add(SparseRequest.of(ors.get(i).queries(), seqs.get(i).view(), sel, windows.get(i), Shapes.W, gates, gates));
        }
        sparse = new SparseBatch(srs);
        sparseOut = b.sparse(sparse);
        System.out.printf("batch %d: %.3f GB of KV read by a dense step%n", batch, kvBytes() / 1e9);
    }

    /** KV bytes a dense batched step reads: every sequence's keys and values. */
    double kvBytes() {
        return pool.bytesInUse();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
        windows.forEach(SwaCache::close);
        pool.close();
    }

    @Benchmark
    public List<OracleOutput> denseBatch() {
        b.oracle(oracle, oracleOut);
        return oracleOut;
    }

    @Benchmark
    public List<float[]> sparseBatchK16() {
        b.sparse(sparse, sparseOut);
        return sparseOut;
    }
}
