package org.hysparse.conformance;

/** Every rule the kit checks; the id leads each failure message. RULES.md lists the same. */
public enum Rule {
    ORACLE_1("HS-ORACLE-1", "oracle output within the relative L2 tolerance of the reference, per row; NaN never passes"),
    ORACLE_2("HS-ORACLE-2", "block scores S in MASS mode (block mass) within the absolute tolerance of the reference"),
    ORACLE_3("HS-ORACLE-3", "0 <= S <= 1 in both modes, and blocks wholly after every row of a query block score exactly 0"),
    ORACLE_4("HS-ORACLE-4", "causality: appending future tokens changes no output"),
    ORACLE_5("HS-ORACLE-5", "block scores S in MAX mode (the paper's Eq. 3, the default) within the absolute tolerance of the reference"),
    SELECT_1("HS-SELECT-1", "given the reference's S, the selection equals the reference's exactly"),
    SELECT_2("HS-SELECT-2", "selection shape: ascending, min(k, visible) blocks, forced sink and local blocks present"),
    SELECT_3("HS-SELECT-3", "mass-targeted selection keeps every row's dropped mass <= delta when kMax is not hit"),
    SELECT_5("HS-SELECT-5", "oracleAndSelect gives the oracle's outputs and the selection select makes from its scores, and checks both before either runs"),
    SELECT_4("HS-SELECT-4", "a planted needle block is selected from the backend's own scores"),
    SPARSE_1("HS-SPARSE-1", "sparse attention (selected blocks of the shared cache + SWA window, gated) within tolerance of the reference, and each branch alone (gates 1/0 and 0/1)"),
    SINK_1("HS-SINK-1", "oracle with sink logits: output, S in both modes and dropped mass within tolerance of the reference"),
    SINK_2("HS-SINK-2", "sparse attention with sink logits in the selected branch, the window branch and both, within tolerance"),
    GATE_1("HS-GATE-1", "sparse attention with per-channel gates [Lq][Hq][D] (each gate, and mixed with a per-head one) within tolerance"),
    MASS_1("HS-MASS-1", "dropped mass max and mean within the S tolerance of the reference"),
    E2E_1("HS-E2E-1", "the paper's operator end to end: a full layer then sparse layers sharing its cache (MAX scores, the paper's TopK, sinks, per-channel gates), prefill then decode steps, all within tolerance"),
    BATCH_1("HS-BATCH-1", "a batch of sequences of one KV pool (mixed lengths, prefill tails and decode rows, a fork) gives each sequence the reference's result; a batch of one is the single call"),
    BATCH_2("HS-BATCH-2", "isolation: a neighbour's freed pages, reused by a new sequence with poisoned values, change nothing of the other sequences' results"),
    BATCH_3("HS-BATCH-3", "continuous batching: thirty steps with sequences arriving, leaving and forking, every step within tolerance; freed pages are reused"),
    KV_1("HS-KV-1", "sparse layers read the full layer's cache through its view: appends to the cache show in their outputs"),
    KV_2("HS-KV-2", "KV bytes of caches and layouts match SPEC 4 exactly after the backend read them, and its device memory returns to its level once they close"),
    KV_3("HS-KV-3", "a sparse decode step allocates far less than the cache it reads (no copy of the view)"),
    DET_1("HS-DET-1", "the same inputs twice give bit-identical outputs"),
    THREAD_1("HS-THREAD-1", "concurrent calls on one backend (many sparse layers on one shared cache, and whole steps; more threads than cores, started together) give bit-identical results to serial calls"),
    ERR_1("HS-ERR-1", "each SPEC error case raises IllegalArgumentException naming the argument"),
    ERR_2("HS-ERR-2", "after an error, output buffers and caches are unchanged"),
    INPUT_1("HS-INPUT-1", "operations never modify their inputs (queries, gates, scores, selections, caches)");

    private final String id;
    private final String title;

    Rule(String id, String title) {
        this.id = id;
        this.title = title;
    }

    public String id() { return id; }

    public String title() { return title; }
}
