package org.hysparse.cli;

import org.hysparse.api.KvPrecision;
import org.hysparse.api.ScoreMode;
import org.hysparse.api.SelectionPolicy;

/**
 * A HySparse model layout and workload. {@code pattern} has one letter per layer, F (full) or S
 * (sparse); each sparse layer reads the cache of the closest full layer before it. {@code scores} is the
 * oracle's block-score mode; {@code v1Policy} forces the sink and one local block as v1 did (the paper
 * forces none); {@code preset} names the model layout it came from, or is empty for a custom one.
 */
record RunConfig(String pattern, int context, int decode, int prefillRows, int hq, int hkv, int dim, int block, int topk,
                 int window, Double delta, KvPrecision kv, long seed, int needles, ScoreMode scores, boolean v1Policy,
                 String preset) {

    RunConfig {
        checkPattern(pattern);
        positive("--context", context);
        if (decode < 0) throw new IllegalArgumentException("--decode: expected >= 0 but got " + decode);
        if (prefillRows < 0 || prefillRows > context) {
            throw new IllegalArgumentException("--prefill: expected 0.." + context + " but got " + prefillRows);
        }
        positive("--heads (Hkv)", hkv);
        if (hq % hkv != 0) throw new IllegalArgumentException("--heads: expected Hq/Hkv with Hq a multiple of Hkv but got " + hq + "/" + hkv);
        positive("--dim", dim);
        if (block < 16 || block > 256 || Integer.bitCount(block) != 1) {
            throw new IllegalArgumentException("--block: expected a power of two in 16..256 but got " + block);
        }
        positive("--topk", topk);
        if (window < 0) throw new IllegalArgumentException("--window: expected >= 0 but got " + window);
        if (delta != null && !(delta >= 0 && delta < 1)) throw new IllegalArgumentException("--delta: expected 0 <= delta < 1 but got " + delta);
        if (delta != null && scores != ScoreMode.MASS) {
            throw new IllegalArgumentException("--delta: expected --scores mass (mass targeting needs block masses) but got --scores "
                    + scores.name().toLowerCase(java.util.Locale.ROOT));
        }
        positive("--needles", needles);
        if (context / block < needles + 4) {
            throw new IllegalArgumentException("--context: expected at least " + (needles + 4) + " blocks of " + block
                    + " (room for " + needles + " needles) but got " + context + " tokens");
        }
    }

    private static void positive(String name, int v) {
        if (v < 1) throw new IllegalArgumentException(name + ": expected >= 1 but got " + v);
    }

    /** F layers evenly spread over {@code layers}, the first layer always full: 49/5 gives full layers 0, 9, 19, 29, 39. */
    static String evenPattern(int layers, int full) {
        if (layers < 1) throw new IllegalArgumentException("--layers: expected >= 1 but got " + layers);
        if (full < 1 || full > layers) throw new IllegalArgumentException("--full: expected 1.." + layers + " but got " + full);
        char[] p = new char[layers];
        java.util.Arrays.fill(p, 'S');
        for (int i = 0; i < full; i++) p[(int) ((long) i * layers / full)] = 'F';
        return new String(p);
    }

    /** A layout of F and S letters starting with F: a sparse layer reads the closest full layer before it. */
    static String checkPattern(String pattern) {
        if (pattern.isEmpty() || pattern.charAt(0) != 'F' || !pattern.matches("[FS]+")) {
            throw new IllegalArgumentException("--pattern: expected F and S letters starting with F (a sparse layer needs a full layer before it) but got '" + pattern + "'");
        }
        return pattern;
    }

    /** {@code --heads} as given, else the preset's Hq/Hkv. */
    static int[] heads(String text, org.hysparse.api.ModelPreset preset) {
        return text != null ? heads(text) : new int[] {preset.queryHeads(), preset.kvHeads()};
    }

    /** Parses "32/8". */
    static int[] heads(String text) {
        String[] parts = text.split("/");
        try {
            if (parts.length != 2) throw new NumberFormatException();
            return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--heads: expected Hq/Hkv such as 32/8 but got '" + text + "'");
        }
    }

    /** Selection at {@code k} blocks: the paper's (nothing forced) or v1's (sink and one local block). */
    SelectionPolicy.TopK topK(int k) {
        return v1Policy ? SelectionPolicy.TopK.of(k) : SelectionPolicy.TopK.paper(k);
    }

    /** The run's selection: top-k, or mass-targeted with {@code --delta} (kMax = top-k). */
    SelectionPolicy policy() {
        if (delta == null) return topK(topk);
        return v1Policy ? SelectionPolicy.MassTarget.of(delta, topk) : new SelectionPolicy.MassTarget(delta, topk, false, 0);
    }

    int layers() { return pattern.length(); }

    int fullLayers() { return (int) pattern.chars().filter(c -> c == 'F').count(); }

    /** Decode: the SWA ring keeps W tokens; chunked prefill of P rows needs W + P - 1 meanwhile. */
    int prefillWindowCapacity() { return Math.max(1, window + Math.max(prefillRows, 1) - 1); }
}
