package org.hysparse.bench;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.*;

/**
 * The machine's own ceilings, measured in the same run as the kernels: read bandwidth (a vector sum over
 * 1 GiB, far beyond the caches) and vector FMA throughput, both on every core. The loops live in small
 * static methods called many times, so C2 compiles them whole instead of through on-stack replacement
 * (where Vector API values can end up boxed).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class MachineBench {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    float[] data;
    ForkJoinPool pool;
    int threads;

    @Setup(Level.Trial)
    public void setUp() {
        threads = Runtime.getRuntime().availableProcessors();
        pool = new ForkJoinPool(threads);
        data = new float[Ceilings.STREAM_FLOATS];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        for (int i = 0; i < data.length; i++) data[i] = (float) rnd.nextDouble();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdownNow();
    }

    @Benchmark
    public double streamRead() throws Exception {
        int per = Ceilings.STREAM_FLOATS / threads;
        return pool.submit(() -> IntStream.range(0, threads).parallel().mapToDouble(t -> {
            double sum = 0;
            for (int from = t * per; from < (t + 1) * per; from += 1 << 16) sum += sum(data, from, Math.min((t + 1) * per, from + (1 << 16)));
            return sum;
        }).sum()).get();
    }

    @Benchmark
    public double fmaPeak() throws Exception {
        return pool.submit(() -> IntStream.range(0, threads).parallel().mapToDouble(t -> {
            double sum = 0;
            for (int c = 0; c < Ceilings.FMA_CALLS; c++) sum += fmaChains(t + c);
            return sum;
        }).sum()).get();
    }

    private static float sum(float[] a, int from, int to) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int step = 4 * F.length();
        for (int i = from; i + step <= to; i += step) {
            a0 = a0.add(FloatVector.fromArray(F, a, i));
            a1 = a1.add(FloatVector.fromArray(F, a, i + F.length()));
            a2 = a2.add(FloatVector.fromArray(F, a, i + 2 * F.length()));
            a3 = a3.add(FloatVector.fromArray(F, a, i + 3 * F.length()));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    /** {@link Ceilings#CHAINS} independent chains; {@code 16 / lanes} times more steps on narrower vectors. */
    private static float fmaChains(float seed) {
        FloatVector x = FloatVector.broadcast(F, 0.999f), y = FloatVector.broadcast(F, 1e-4f);
        FloatVector a0 = FloatVector.broadcast(F, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
        FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
        int steps = Ceilings.FMA_STEPS * (16 / F.length());
        for (int i = 0; i < steps; i++) {
            a0 = a0.fma(x, y); a1 = a1.fma(x, y); a2 = a2.fma(x, y); a3 = a3.fma(x, y);
            a4 = a4.fma(x, y); a5 = a5.fma(x, y); a6 = a6.fma(x, y); a7 = a7.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(VectorOperators.ADD);
    }
}
