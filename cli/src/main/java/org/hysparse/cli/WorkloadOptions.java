package org.hysparse.cli;

import java.util.Locale;
import org.hysparse.api.KvPrecision;
import org.hysparse.api.ModelPreset;
import org.hysparse.api.ScoreMode;
import org.hysparse.api.SelectionPolicy;
import picocli.CommandLine.Option;

/**
 * The model layout and workload options shared by {@code run} and {@code bench}. The layout comes from
 * {@code --preset} (the paper's 80B model by default); {@code --pattern}, {@code --layers}/{@code --full},
 * {@code --heads} and {@code --dim} override its parts.
 */
final class WorkloadOptions {
    @Option(names = "--preset", description = "Model layout: hysparse-80b (49 layers, full at 0/12/24/36/48, 64/4 heads, D 128) or "
            + "hysparse-7b (36 layers, 1:3, 32/8 heads, D 128) (default: ${DEFAULT-VALUE}).")
    String preset = ModelPreset.HYSPARSE_80B.name();
    @Option(names = "--layers", description = "Layers in all, full ones spread evenly (with --full; overrides the preset's layout).")
    Integer layers;
    @Option(names = "--full", description = "Full attention layers among --layers (default 5).")
    Integer full;
    @Option(names = "--pattern", description = "Explicit layout, one letter a layer: F full, S sparse, e.g. FSSSFSSS (overrides --preset and --layers/--full).")
    String pattern;
    @Option(names = "--context", description = "Tokens in the KV cache before decoding (default: ${DEFAULT-VALUE}).")
    int context = 16384;
    @Option(names = "--decode", description = "Decode steps, each appending a token (default: ${DEFAULT-VALUE}).")
    int decode = 32;
    @Option(names = "--prefill", description = "Prefill tail: the last N context positions run through every layer (default: ${DEFAULT-VALUE}).")
    int prefill = 128;
    @Option(names = "--heads", description = "Query/KV heads, Hq/Hkv (default: the preset's).")
    String heads;
    @Option(names = "--dim", description = "Head dimension (default: the preset's).")
    Integer dim;
    @Option(names = "--block", description = "KV block size B (default: ${DEFAULT-VALUE}, the paper's).")
    int block = SelectionPolicy.PAPER_BLOCK_SIZE;
    @Option(names = "--topk", description = "Blocks each sparse layer selects; kMax with --delta (default: ${DEFAULT-VALUE}, the paper's 1024 tokens).")
    int topk = SelectionPolicy.PAPER_TOP_K;
    @Option(names = "--window", description = "Sliding window W of the sparse layers' own cache (default: ${DEFAULT-VALUE}, the paper's).")
    int window = SelectionPolicy.PAPER_WINDOW;
    @Option(names = "--scores", description = "Block scores: max (the paper's Eq. 3) or mass (needed by --delta) (default: ${DEFAULT-VALUE}).")
    String scores = "max";
    @Option(names = "--v1-policy", description = "Force the sink block and one local block into every selection, as v1 did (the paper forces none).")
    boolean v1Policy;
    @Option(names = "--delta", description = "Mass-targeted selection: keep the dropped mass under this (needs --scores mass; default: fixed top-k).")
    Double delta;
    @Option(names = "--kv", description = "KV storage: fp32, fp16 or bf16 (default: ${DEFAULT-VALUE}).")
    String kv = "fp32";
    @Option(names = "--seed", description = "Seed of the synthetic model (default: ${DEFAULT-VALUE}).")
    long seed = 42;
    @Option(names = "--needles", description = "Planted needle blocks per KV head (default: ${DEFAULT-VALUE}).")
    int needles = 8;

    RunConfig config() {
        ModelPreset p = ModelPreset.named(preset);
        String layout = pattern != null ? pattern.trim().toUpperCase(Locale.ROOT)
                : layers != null || full != null ? RunConfig.evenPattern(layers != null ? layers : p.layers(), full != null ? full : 5)
                : p.pattern();
        int[] h = RunConfig.heads(heads, p);
        boolean custom = pattern != null || layers != null || full != null || heads != null || dim != null;
        return new RunConfig(layout, context, decode, prefill, h[0], h[1], dim != null ? dim : p.headDim(), block, topk, window, delta,
                KvPrecision.parse(kv), seed, needles, ScoreMode.parse(scores), v1Policy, custom ? "" : p.name());
    }
}
