package org.hysparse.api;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * SPEC 6: a HySparse model's attention layout: {@code layers} in all, full attention at
 * {@code fullLayers} (ascending, the first at 0, since a sparse layer reads the closest full layer before
 * it), {@code Hq/Hkv} heads of dimension {@code D}. The two presets are the paper's models (Table 1).
 */
public record ModelPreset(String name, int layers, List<Integer> fullLayers, int queryHeads, int kvHeads, int headDim) {

    /** 80B-A3B MoE: 49 layers, 1:11, the final layer full: full at 0, 12, 24, 36, 48; 64/4 heads, D 128. */
    public static final ModelPreset HYSPARSE_80B = new ModelPreset("hysparse-80b", 49, List.of(0, 12, 24, 36, 48), 64, 4, 128);

    /**
     * 7B dense: 36 layers, 1:3, the final layer full; 32/8 heads, D 128. The paper gives the ratio and the last
     * layer only; full at 0, 4, ..., 32 and 35 is defined here (SPEC 6).
     */
    public static final ModelPreset HYSPARSE_7B = new ModelPreset("hysparse-7b", 36,
            List.of(0, 4, 8, 12, 16, 20, 24, 28, 32, 35), 32, 8, 128);

    public static final List<ModelPreset> PRESETS = List.of(HYSPARSE_80B, HYSPARSE_7B);

    public ModelPreset {
        Objects.requireNonNull(name, "name");
        Checks.positive("layers", layers);
        fullLayers = List.copyOf(fullLayers);
        if (fullLayers.isEmpty() || fullLayers.get(0) != 0) {
            throw new IllegalArgumentException("fullLayers: expected a list starting at layer 0 but got " + fullLayers);
        }
        for (int i = 1; i < fullLayers.size(); i++) {
            if (fullLayers.get(i) <= fullLayers.get(i - 1) || fullLayers.get(i) >= layers) {
                throw new IllegalArgumentException("fullLayers: expected ascending layers in 0.." + (layers - 1) + " but got " + fullLayers);
            }
        }
        Checks.positive("kvHeads", kvHeads);
        if (queryHeads < 1 || queryHeads % kvHeads != 0) {
            throw new IllegalArgumentException("queryHeads: expected a positive multiple of Hkv = " + kvHeads + " but got " + queryHeads);
        }
        Checks.positive("headDim", headDim);
    }

    /** A preset by name, case-insensitive. */
    public static ModelPreset named(String name) {
        for (ModelPreset p : PRESETS) if (p.name.equalsIgnoreCase(name.trim())) return p;
        throw new IllegalArgumentException("preset: expected one of " + PRESETS.stream().map(ModelPreset::name).toList()
                + " but got '" + name + "'");
    }

    /** One letter a layer, {@code F} full, {@code S} sparse. */
    public String pattern() {
        char[] p = new char[layers];
        java.util.Arrays.fill(p, 'S');
        for (int f : fullLayers) p[f] = 'F';
        return new String(p);
    }

    /** KV bytes of this layout at {@code tokens} (SPEC 4), sparse layers holding the paper's window. */
    public KvBudget budget(long tokens, KvPrecision precision) {
        return new KvBudget(layers, fullLayers.size(), tokens, SelectionPolicy.PAPER_WINDOW, kvHeads, headDim, precision);
    }

    @Override
    public String toString() {
        return name.toLowerCase(Locale.ROOT) + " (" + layers + " layers, full at " + fullLayers + ", Hq/Hkv " + queryHeads + "/"
                + kvHeads + ", D " + headDim + ")";
    }
}
