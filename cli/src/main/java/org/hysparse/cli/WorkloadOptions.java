package org.hysparse.cli;

import org.hysparse.api.KvPrecision;
import picocli.CommandLine.Option;

/** The model layout and workload options shared by {@code run} and {@code bench}. */
final class WorkloadOptions {
    @Option(names = "--layers", description = "Layers in all (default: ${DEFAULT-VALUE}).")
    int layers = 49;
    @Option(names = "--full", description = "Full attention layers among them, spread evenly (default: ${DEFAULT-VALUE}).")
    int full = 5;
    @Option(names = "--pattern", description = "Explicit layout, one letter a layer: F full, S sparse, e.g. FSSSFSSS (overrides --layers/--full).")
    String pattern;
    @Option(names = "--context", description = "Tokens in the KV cache before decoding (default: ${DEFAULT-VALUE}).")
    int context = 16384;
    @Option(names = "--decode", description = "Decode steps, each appending a token (default: ${DEFAULT-VALUE}).")
    int decode = 32;
    @Option(names = "--prefill", description = "Prefill tail: the last N context positions run through every layer (default: ${DEFAULT-VALUE}).")
    int prefill = 128;
    @Option(names = "--heads", description = "Query/KV heads, Hq/Hkv (default: ${DEFAULT-VALUE}).")
    String heads = "32/8";
    @Option(names = "--dim", description = "Head dimension (default: ${DEFAULT-VALUE}).")
    int dim = 128;
    @Option(names = "--block", description = "KV block size B (default: ${DEFAULT-VALUE}).")
    int block = 64;
    @Option(names = "--topk", description = "Blocks each sparse layer selects; kMax with --delta (default: ${DEFAULT-VALUE}).")
    int topk = 32;
    @Option(names = "--window", description = "Sliding window W of the sparse layers' own cache (default: ${DEFAULT-VALUE}).")
    int window = 128;
    @Option(names = "--delta", description = "Mass-targeted selection: keep the dropped mass under this (default: fixed top-k).")
    Double delta;
    @Option(names = "--kv", description = "KV storage: fp32, fp16 or bf16 (default: ${DEFAULT-VALUE}).")
    String kv = "fp32";
    @Option(names = "--seed", description = "Seed of the synthetic model (default: ${DEFAULT-VALUE}).")
    long seed = 42;
    @Option(names = "--needles", description = "Planted needle blocks per KV head (default: ${DEFAULT-VALUE}).")
    int needles = 8;

    RunConfig config() {
        int[] h = RunConfig.heads(heads);
        String p = pattern != null ? pattern.trim().toUpperCase(java.util.Locale.ROOT) : RunConfig.evenPattern(layers, full);
        return new RunConfig(p, context, decode, prefill, h[0], h[1], dim, block, topk, window, delta, KvPrecision.parse(kv), seed, needles);
    }
}
