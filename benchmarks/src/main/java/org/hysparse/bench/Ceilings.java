package org.hysparse.bench;

/** Work per operation of {@link MachineBench}, known without loading the Vector API (the host JVM lacks it). */
final class Ceilings {
    static final int STREAM_FLOATS = 1 << 28;
    static final int FMA_STEPS = 1 << 12;
    static final int FMA_CALLS = 1 << 10;
    static final int CHAINS = 8;

    private Ceilings() {
    }

    /** 1 GiB read per operation. */
    static double streamBytesPerOp() {
        return 4.0 * STREAM_FLOATS;
    }

    /** 2 flops x 16 float lanes x chains x steps x calls x threads. */
    static double fmaFlopsPerOp() {
        return 2.0 * 16 * CHAINS * (double) FMA_STEPS * FMA_CALLS * Runtime.getRuntime().availableProcessors();
    }
}
