package org.hysparse.cli;

import java.util.List;

/** What {@code hysparse run} measured. */
record RunReport(String backend, String device, RunConfig config, int finalTokens,
                 Phase prefill, Phase firstDecode, Phase decode, Kv kv, List<SparseLayer> sparseLayers, List<FullLayer> fullLayers,
                 double needleRecall, int needleTrials, List<ModeQuality> modes) {

    /**
     * One score mode's selection quality at the run's k on the same model and caches: needle recall over every
     * decode step, and at the last step the full layers' dropped mass, the sparse layers' dropped mass and the
     * fidelity of their selected-block branch against dense attention (means over layers; maxima over all).
     */
    record ModeQuality(org.hysparse.api.ScoreMode mode, double needleRecall, int needleTrials, double fullDroppedMax,
                       double fullDroppedMean, double sparseDroppedMax, double sparseDroppedMean, double relErrorMean,
                       double relErrorMax) {
    }

    /**
     * Milliseconds per layer of each type for one pass (a pass is the prefill tail, or one decode step),
     * total milliseconds over the phase, and tokens per second through the whole model. {@code firstDecode} is the
     * first decode pass alone (no tokens when there is only one), {@code decode} the passes after it.
     */
    record Phase(int tokens, double fullMsPerLayer, double sparseMsPerLayer, double modelMs, double tokensPerSecond) {
    }

    /**
     * KV bytes for this layout at the final context (SPEC 4), what the live caches hold, and the reduction vs
     * full attention here and in the long-context limit {@code T >> W} ({@code L / F}: 9.8x for the 80B layout).
     */
    record Kv(long hySparse, long fullAttention, long hybridSwa, long measured, double reduction, double reductionLongContext) {
    }

    /** Per sparse layer: dropped mass of its own attention under the selection, and fidelity vs dense. */
    record SparseLayer(int layer, int fullLayer, double droppedMax, double droppedMean, double relErrorMean, double relErrorMax,
                       int selectedBlocks) {
    }

    /** Per full layer: dropped mass of the oracle's own rows (SPEC 5) under its selection. */
    record FullLayer(int layer, double droppedMax, double droppedMean) {
    }
}
