package org.hysparse.conformance;

import static org.hysparse.conformance.Pattern.*;

import java.util.List;

/**
 * The kit's cases: a fixed grid that covers every value the SPEC grid asks for (Hq/Hkv 1/1, 4/1, 8/2,
 * 32/8; D 16, 64, 128; B 16, 64, 128; T from 1 past 8192 with partial blocks and T {@literal <} B; prefill and
 * decode; k from 1 past nb; W from 0 past T) without a full product, plus adversarial cases. Sizes are
 * kept so that the float64 reference judges the whole grid in seconds.
 */
public final class CaseGrid {
    private CaseGrid() {
    }

    public static List<Case> standard(long seed) {
        return List.of(
                new Case("single-token", seed + 1, 1, 1, 16, 16, 16, 1, 1, 1, 0, GAUSSIAN),
                new Case("t-below-b-prefill", seed + 2, 4, 1, 16, 64, 64, 37, 37, 2, 8, GAUSSIAN),
                new Case("partial-last-block", seed + 3, 8, 2, 64, 16, 16, 149, 40, 3, 20, GAUSSIAN),
                new Case("gqa-32-8-decode", seed + 4, 32, 8, 128, 64, 64, 1000, 1, 4, 128, GAUSSIAN),
                new Case("long-decode", seed + 5, 4, 1, 64, 128, 128, 8200, 1, 8, 256, GAUSSIAN),
                new Case("long-prefill-tail", seed + 6, 8, 2, 16, 64, 64, 4113, 70, 5, 64, GAUSSIAN),
                new Case("k-beyond-nb", seed + 7, 4, 1, 16, 16, 16, 100, 10, 50, 0, GAUSSIAN),
                new Case("window-beyond-t", seed + 8, 8, 2, 64, 128, 128, 300, 20, 1, 1000, GAUSSIAN),
                new Case("b128-d128", seed + 9, 4, 1, 128, 128, 128, 700, 3, 3, 100, GAUSSIAN),
                new Case("gqa-32-8-prefill", seed + 10, 32, 8, 16, 16, 16, 96, 96, 3, 16, GAUSSIAN),
                new Case("small-query-blocks", seed + 11, 8, 2, 16, 64, 16, 260, 50, 2, 32, GAUSSIAN));
    }

    public static List<Case> adversarial(long seed) {
        return List.of(
                new Case("needle", seed + 21, 4, 1, 64, 64, 64, 2048, 1, 4, 64, NEEDLE),
                new Case("needle-prefill", seed + 22, 8, 2, 16, 16, 16, 400, 16, 3, 16, NEEDLE),
                new Case("constant-keys", seed + 23, 4, 1, 16, 16, 16, 130, 5, 3, 16, CONSTANT_KEYS),
                new Case("near-ties", seed + 24, 4, 2, 16, 16, 16, 256, 1, 4, 16, NEAR_TIES),
                new Case("peaked", seed + 25, 8, 2, 64, 64, 64, 700, 8, 3, 64, PEAKED),
                new Case("huge-logits", seed + 26, 4, 1, 16, 16, 16, 200, 12, 3, 16, HUGE_LOGITS),
                new Case("subnormals", seed + 27, 4, 1, 16, 16, 16, 90, 6, 2, 16, SUBNORMALS));
    }

    public static List<Case> all(long seed) {
        return java.util.stream.Stream.concat(standard(seed).stream(), adversarial(seed).stream()).toList();
    }
}
