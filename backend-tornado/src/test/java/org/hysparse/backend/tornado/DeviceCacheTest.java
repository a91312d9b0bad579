package org.hysparse.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.hysparse.api.*;
import org.hysparse.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What the kit cannot see from outside: the oracle and two sparse layers reading a cache through its view use
 * one device buffer of exactly the cache's precision, which also holds both layers' window rings, and rows
 * appended between calls (more than one staging run's worth, starting at an odd slot so that 16-bit V slot
 * pairs are split between runs, and wrapping both rings, one of odd capacity so that its slot pairs straddle the
 * wrap; odd D, so 16-bit rows are padded to whole words) reach the device, and windows starting at odd and even
 * positions are read. Six query heads per KV head: more than one
 * attention work-group's worth ({@link Kernels#HEADS}), the second group partly filled.
 */
class DeviceCacheTest {
    static final int HQ = 12, HKV = 2, D = 5, B = 16;

    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void oracleAndSparseShareOneDeviceBufferAndSeeAppends(KvPrecision precision) {
        Random rnd = new Random(42 + precision.ordinal());
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(HKV, D, B, precision);
             var swa = new SwaCache(HKV, D, 8, precision);
             var swa2 = new SwaCache(HKV, D, 21, precision)) {
            append(cache, swa, swa2, 71, rnd);
            check(tornado, reference, cache, swa, 1, HQ, 8, 2, rnd);
            check(tornado, reference, cache, swa2, 1, HQ, 12, 2, rnd);
            // Room for bucket(71 + 71 / 4) = 128 tokens = 8 pages, then ring slots for MIN_RINGS rings (2 in use), which
            // the oracle's first copy reserved for its row and the paper's window: bucket(1 + 128) = 256 tokens = 16
            // pages each (the rings of 8 and 21 fit); V rows padded to D + 1.
            long pages = DeviceCache.bucket((128 + B - 1) / B) + DeviceCache.MIN_RINGS * (256 / B);
            long kRow = precision == KvPrecision.FLOAT32 ? D : D + 1;
            long expected = pages * (B * HKV * (D + 1) + HKV * kRow * B) * precision.bytes();
            assertEquals(expected, tornado.residentBytes(), "one device buffer (K and V) for the cache, its view and both rings, " + precision);
            assertEquals(1, tornado.copiesMade(), "the oracle's copy had room for the sparse calls' rings: none made again");

            // More rows than one staging run carries: three runs of the append graph before the next oracle.
            append(cache, swa, swa2, DeviceCache.STAGE * 2 + 3, rnd);
            check(tornado, reference, cache, swa, 1, HQ, 8, 2, rnd);
            check(tornado, reference, cache, swa2, 1, HQ, 12, 2, rnd);
            assertEquals(expected, tornado.residentBytes(), "the same device buffer, appended to in place (106 tokens fit the 128 reserved)");

            // A decode step: one token each, so each ring keeps most of what it held; a ring sharing space with the other would show.
            append(cache, swa, swa2, 1, rnd);
            check(tornado, reference, cache, swa, 1, HQ, 8, 2, rnd);
            check(tornado, reference, cache, swa2, 1, HQ, 12, 2, rnd);
        }
    }

    /**
     * A long context: the decode row's keys are split over ten work-groups per head group (oracle, and sparse with
     * 80 selected blocks), so the merge kernel's trees over the splits' max and sum see more than a few leaves.
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void longContextSplitsMergeLikeTheReference(KvPrecision precision) {
        decodeAfter(precision, HKV, D, HQ, 5000, 4, 80, 11);
    }

    /**
     * Heads wider than one thread per dimension ({@link Kernels#LOCAL}): each attention thread also owns dimension
     * lid + LOCAL, and the merge sums that dimension's split accumulators too. A long context, so both are split.
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void headsWiderThanAWorkGroupMergeLikeTheReference(KvPrecision precision) {
        decodeAfter(precision, 1, Kernels.LOCAL + 9, 3, 3000, 5, 40, 23);
    }

    /**
     * A prefill through the tiled kernel ({@link Kernels#attendTile}) with heads wider than a work-group and of odd
     * width (each thread's second dimension clamped into the row), three query heads a KV head (five rows a tile, the
     * last tile part-filled) and a window whose first token moves with each row: oracle, S and sparse match the reference.
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void aTiledPrefillOfWideOddHeadsMatchesTheReference(KvPrecision precision) {
        Random rnd = new Random(29 + precision.ordinal());
        int d = Kernels.LOCAL + 9, rows = 23;
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(1, d, B, precision);
             var swa = new SwaCache(1, d, 64, precision)) {
            appendSame(cache, swa, 700, rnd);
            check(tornado, reference, cache, swa, rows, 3, 9, 4, rnd);
            int tiled = tornado.tiledLaunches(cache);
            check(tornado, reference, cache, swa, rows, 3, 9, 4, rnd);
            assertEquals(tiled + 2, tornado.tiledLaunches(cache), "the prefill's oracle and sparse rows through the tiled kernel");
        }
    }

    /**
     * Option {@code specialize=none}: kernels that read the pool's shape from their parameters (the default compiles
     * it in, see {@link Devices#specialized}) match the reference too, for a tiled prefill (odd, wide heads) and for
     * decode rows after it on the decode-sized graphs; the backend says which it runs.
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void kernelsReadingTheShapeFromParametersMatchTheReference(KvPrecision precision) {
        Random rnd = new Random(31 + precision.ordinal());
        int d = Kernels.LOCAL + 9;
        try (var tornado = OnDevice.tornado(BackendOptions.none().with("specialize", "none"));
             var reference = new ReferenceBackend();
             var cache = new KvCache(1, d, B, precision);
             var swa = new SwaCache(1, d, 64, precision)) {
            assertTrue(!tornado.specialized(), "specialize=none reaches the backend");
            appendSame(cache, swa, 700, rnd);
            check(tornado, reference, cache, swa, 23, 3, 9, 4, rnd);
            int tiled = tornado.tiledLaunches(cache);
            check(tornado, reference, cache, swa, 23, 3, 9, 4, rnd);
            assertEquals(tiled + 2, tornado.tiledLaunches(cache), "the prefill's oracle and sparse rows through the tiled kernel");
            for (int step = 0; step < 2; step++) {
                appendSame(cache, swa, 1, rnd);
                check(tornado, reference, cache, swa, 1, 3, 9, 4, rnd);
            }
        }
        try (var tornado = OnDevice.tornado()) {
            assertTrue(tornado.specialized(), "kernels compiled for each pool's shape by default");
        }
    }

    /** A cache of {@code tokens} random rows and its window cache (8 slots), then one decode step through {@link #check}. */
    private static void decodeAfter(KvPrecision precision, int hkv, int d, int hq, int tokens, int window, int topK, long seed) {
        Random rnd = new Random(seed + precision.ordinal());
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(hkv, d, B, precision);
             var swa = new SwaCache(hkv, d, 8, precision)) {
            appendSame(cache, swa, tokens, rnd);
            check(tornado, reference, cache, swa, 1, hq, window, topK, rnd);
        }
    }

    /**
     * A prefill of more query vectors than {@link DeviceCache#DECODE_VECTORS} gives the plan room for them; the
     * decode steps after it run through the plan's decode-sized graphs (which move a decode row's queries and
     * outputs, not the prefill's) on the same device buffers, and match the reference, SPEC 5's masses included.
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void decodeAfterAPrefillRunsOnTheDecodeSizedGraphs(KvPrecision precision) {
        Random rnd = new Random(5 + precision.ordinal());
        int rows = DeviceCache.DECODE_VECTORS / HQ + 3;
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(HKV, D, B, precision);
             var swa = new SwaCache(HKV, D, 32, precision)) {
            appendSame(cache, swa, 300, rnd);
            check(tornado, reference, cache, swa, rows, HQ, 8, 3, rnd);
            int tiled = tornado.tiledLaunches(cache);
            assertEquals("o", oracleAgain(tornado, cache, rows, rnd), "the prefill's " + rows * HQ + " vectors through the full-size oracle graph");
            assertEquals(tiled + 1, tornado.tiledLaunches(cache), "the prefill's rows through the tiled kernel");
            check(tornado, reference, cache, swa, rows, HQ, 8, 3, rnd);
            assertEquals(tiled + 3, tornado.tiledLaunches(cache), "the prefill's oracle and sparse rows through the tiled kernel, as the reference");
            for (int step = 0; step < 2; step++) {
                int appendRuns = tornado.appendRuns(cache);
                appendSame(cache, swa, 1, rnd);
                BlockSelection sel = check(tornado, reference, cache, swa, 1, HQ, 8, 3, rnd);
                // The step's new token reaches the cache and the window ring inside the oracle's and the sparse call's
                // launches: no run of the append graph of its own.
                assertEquals(appendRuns, tornado.appendRuns(cache), "a decode step's appends ride in its attention launches");
                assertEquals("o1", tornado.lastOracleGraph(cache), "a decode row through the decode-sized oracle graph");
                Queries q = Queries.last(gaussian(HQ * D, rnd), 1, HQ, D, cache.length());
                DroppedMass got = tornado.droppedMass(DroppedMassRequest.of(q, cache, sel));
                DroppedMass want = reference.droppedMass(DroppedMassRequest.of(q, cache, sel));
                assertEquals(want.max(), got.max(), 1e-4, "SPEC 5 max from the decode-sized graph's masses");
                assertEquals(want.mean(), got.mean(), 1e-4, "SPEC 5 mean from the decode-sized graph's masses");
            }
            // oracleAndSelect on the decode-sized graph ranks S on the device in the oracle's launch: the same selection
            // as select on the scores it wrote, for TopK (paper's and v1's) and a mass target over MASS scores.
            Queries q = Queries.last(gaussian(HQ * D, rnd), 1, HQ, D, cache.length());
            OracleRequest max = OracleRequest.of(q, cache, BlockGeometry.of(B)), mass = max.withScores(ScoreMode.MASS);
            var cases = java.util.List.of(java.util.Map.entry(max, SelectionPolicy.TopK.paper(5)), java.util.Map.entry(max, SelectionPolicy.TopK.of(7)),
                    java.util.Map.entry(mass, SelectionPolicy.MassTarget.of(0.3, 12)));
            for (var c : cases) {
                int ranked = tornado.rankedOnDevice(cache), launches = tornado.launches(cache);
                OracleOutput o = OracleOutput.allocate(c.getKey()), want = OracleOutput.allocate(c.getKey());
                BlockSelection fused = tornado.oracleAndSelect(c.getKey(), o, c.getValue());
                assertEquals(ranked + 1, tornado.rankedOnDevice(cache), c.getValue() + " ranked in the oracle's launch");
                assertEquals(launches + 1, tornado.launches(cache), c.getValue() + ": one launch");
                org.junit.jupiter.api.Assertions.assertArrayEquals(tornado.select(new SelectionRequest(o.scores(), c.getValue())).blocks(), fused.blocks(),
                        c.getValue() + ": the fused selection is select's on the same scores");
                reference.oracle(c.getKey(), want);
                close("fused oracle out", want.out(), o.out());
                close("fused oracle S", want.scores().data(), o.scores().data());
            }
        }
    }

    /**
     * The twins hold {@link DeviceCache#DECODE_QUERY_BLOCKS} query blocks, not the prefill's (S and the selection
     * lists are moved whole, one slot per query block): after a prefill over many query blocks, a decode row runs
     * through the twins, and a call of few vectors whose rows span more query blocks than the twins hold runs
     * through the full-size graphs; all match the reference.
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void callsSpanningMoreQueryBlocksThanTheTwinsHoldRunOnTheFullSizeGraphs(KvPrecision precision) {
        Random rnd = new Random(11 + precision.ordinal());
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(HKV, D, B, precision);
             var swa = new SwaCache(HKV, D, 128, precision)) {
            appendSame(cache, swa, 300, rnd);
            int rows = 5 * B;
            check(tornado, reference, cache, swa, rows, HQ, 8, 3, rnd);
            assertEquals("o", oracleAgain(tornado, cache, rows, rnd), "the prefill's " + rows / B + " query blocks through the full-size oracle graph");
            check(tornado, reference, cache, swa, 1, HQ, 8, 3, rnd);
            assertEquals("o1", tornado.lastOracleGraph(cache), "a decode row through the decode-sized oracle graph");
            int[] spread = {299 - 2 * B, 299 - B, 299};
            int spans = DeviceCache.DECODE_QUERY_BLOCKS + 1;
            assertTrue(spread.length * HQ <= DeviceCache.DECODE_VECTORS && spread.length == spans, "few vectors, one row per query block");
            check(tornado, reference, cache, swa, new Queries(gaussian(spread.length * HQ * D, rnd), spread.length, HQ, D, spread), 8, 3);
            assertEquals("o", tornado.lastOracleGraph(cache), spans + " query blocks through the full-size oracle graph");
        }
    }

    /**
     * The selection lists travel whole on every sparse call, so a plan has room for {@link DeviceCache#MIN_SELECTED}
     * blocks a list, not for every block: a longer selection grows the plan, a shorter one after it runs on the
     * grown plan (lists shorter than their room), all matching the reference.
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void selectionsLongerThanThePlanHasRoomForGrowItsLists(KvPrecision precision) {
        Random rnd = new Random(13 + precision.ordinal());
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(HKV, D, B, precision);
             var swa = new SwaCache(HKV, D, 8, precision)) {
            appendSame(cache, swa, 2000, rnd);
            check(tornado, reference, cache, swa, 1, HQ, 8, 10, rnd);
            assertEquals(DeviceCache.MIN_SELECTED, tornado.caps(cache).selected(), "room for the usual TopK sizes, not all 125 blocks");
            check(tornado, reference, cache, swa, 1, HQ, 8, DeviceCache.MIN_SELECTED + 9, rnd);
            assertEquals(2 * DeviceCache.MIN_SELECTED, tornado.caps(cache).selected(), "grown to the next power of two");
            check(tornado, reference, cache, swa, 1, HQ, 8, 3, rnd);
            assertEquals(2 * DeviceCache.MIN_SELECTED, tornado.caps(cache).selected(), "capacities never shrink");
        }
    }

    /**
     * Calls of other shapes on one plan: after a three-row call, single rows at growing lengths (more splits each
     * time, appends of a part-filled staging run) with other TopK sizes, the device's selection too. Under a CUDA
     * graph each graph keeps the grid it was captured with at its first run, so the work-groups past a call's rows,
     * splits, score tiles and lists must idle; everything matches the reference.
     */
    /** Past 64k tokens the copy's room grows in eighths, not to the next power of two; its calls match the reference. */
    @Test
    void aLongContextGetsRoomInEighthsAndMatchesTheReference() {
        Random rnd = new Random(71);
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(HKV, D, B, KvPrecision.FLOAT16);
             var swa = new SwaCache(HKV, D, 64, KvPrecision.FLOAT16)) {
            appendSame(cache, swa, 70_000, rnd);
            check(tornado, reference, cache, swa, 3, HQ, 8, 9, rnd);
            // 70,000 tokens and a quarter: 87,500, in eighths of 65,536.
            assertEquals(90_112, tornado.caps(cache).tokens(), "room in eighths past 64k tokens");
            appendSame(cache, swa, 1, rnd);
            check(tornado, reference, cache, swa, 1, HQ, 8, 9, rnd);
            assertEquals(1, tornado.copiesMade(), "the decode step fit the same copy");
        }
    }

    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void callsOfOtherShapesOnOnePlanMatchTheReference(KvPrecision precision) {
        Random rnd = new Random(17 + precision.ordinal());
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(HKV, D, B, precision);
             var swa = new SwaCache(HKV, D, 16, precision)) {
            appendSame(cache, swa, 1000, rnd);
            check(tornado, reference, cache, swa, 3, HQ, 8, 6, rnd);
            long bytes = tornado.residentBytes();
            int[] topK = {2, 9, 5, 30};
            for (int k : topK) {
                appendSame(cache, swa, 150, rnd);
                Queries q = Queries.last(gaussian(HQ * D, rnd), 1, HQ, D, cache.length());
                check(tornado, reference, cache, swa, q, 8, k);
                OracleRequest or = OracleRequest.of(q, cache, BlockGeometry.of(B));
                OracleOutput o = OracleOutput.allocate(or);
                reference.oracle(or, o);
                SelectionRequest sr = new SelectionRequest(o.scores(), SelectionPolicy.TopK.of(k));
                org.junit.jupiter.api.Assertions.assertArrayEquals(reference.select(sr).blocks(), tornado.select(sr).blocks(),
                        "TopK " + k + " at " + cache.length() + " tokens");
            }
            assertEquals(bytes, tornado.residentBytes(), "one plan throughout (1600 tokens fit the 2048 reserved)");
        }
    }

    /**
     * Another cache's plan closing (it grew out of its room) leaves this cache's plan working: under CUDA graphs its
     * captured copies keep their host pages locked (TornadoVM's plan teardown unlocked every page it had locked, and
     * the next replay failed with CUDA_ERROR_LAUNCH_FAILED on the H100).
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void aPlanKeepsWorkingAfterAnotherPlanCloses(KvPrecision precision) {
        Random rnd = new Random(23 + precision.ordinal());
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var cache = new KvCache(HKV, D, B, precision);
             var swa = new SwaCache(HKV, D, 16, precision);
             var other = new KvCache(HKV, D, B, precision);
             var otherSwa = new SwaCache(HKV, D, 16, precision)) {
            appendSame(cache, swa, 300, rnd);
            appendSame(other, otherSwa, 40, rnd);
            check(tornado, reference, cache, swa, 1, HQ, 8, 3, rnd);
            check(tornado, reference, other, otherSwa, 1, HQ, 8, 3, rnd);
            DeviceCache.Caps before = tornado.caps(other);
            appendSame(other, otherSwa, 200, rnd);
            check(tornado, reference, other, otherSwa, 1, HQ, 8, 3, rnd);
            assertTrue(tornado.caps(other).tokens() > before.tokens(), "the other cache got a larger plan (its first one closed)");
            for (int step = 0; step < 3; step++) {
                appendSame(cache, swa, 1, rnd);
                check(tornado, reference, cache, swa, 1, HQ, 8, 3, rnd);
            }
        }
    }

    /**
     * Sequences of one pool share one device copy and one plan (no compile per sequence), each read through its block
     * table: a fork shares its parent's pages, and after both append (copy on write of the partial last page) each
     * still reads its own rows; a closed sequence's pages reused by a new one read the new rows; closing a standalone
     * cache or the pool frees the device memory at once (no garbage collection).
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void sequencesOfAPoolShareOneDeviceCopyFreedWithThePool(KvPrecision precision) {
        Random rnd = new Random(29 + precision.ordinal());
        try (var tornado = OnDevice.tornado();
             var reference = new ReferenceBackend();
             var swa = new SwaCache(HKV, D, 16, precision);
             var swa2 = new SwaCache(HKV, D, 16, precision)) {
            KvPool pool = new KvPool(HKV, D, B, precision);
            KvCache a = pool.newSequence(), b = pool.newSequence();
            appendSame(a, swa, 100, rnd);
            appendSame(b, swa2, 60, rnd);
            check(tornado, reference, a, swa, 1, HQ, 8, 3, rnd);
            var plan = tornado.caps(a);
            check(tornado, reference, b, swa2, 1, HQ, 8, 3, rnd);
            assertEquals(1, tornado.deviceCopies(), "both sequences on the pool's one device copy");
            assertTrue(plan == tornado.caps(b), "the second sequence needed no new plan");
            long both = tornado.deviceMemoryBytes();
            assertTrue(both > 0 && both == tornado.residentBytes(), "device bytes are reported: " + both);

            // A fork of a at 100 tokens (a partial last page), then both append: copy on write gives each its own last page.
            KvCache c = a.fork();
            appendSame(a, swa, 5, rnd);
            check(tornado, reference, a, swa, 1, HQ, 8, 3, rnd);
            try (var swa3 = new SwaCache(HKV, D, 16, precision)) {
                swa3.append(gaussian(100 * HKV * D, rnd), gaussian(100 * HKV * D, rnd), 100);
                appendSame(c, swa3, 105, rnd);
                check(tornado, reference, c, swa3, 1, HQ, 8, 3, rnd);
                check(tornado, reference, a, swa, 1, HQ, 8, 3, rnd);
            }
            // b leaves; a new sequence reuses its pages with other values. (The pool grew with the fork: a larger copy.)
            long grown = tornado.deviceMemoryBytes();
            assertTrue(grown >= both, both + " -> " + grown);
            b.close();
            assertEquals(grown, tornado.deviceMemoryBytes(), "a sequence's close leaves the pool's copy");
            KvCache e = pool.newSequence();
            try (var swa4 = new SwaCache(HKV, D, 16, precision)) {
                appendSame(e, swa4, 60, rnd);
                check(tornado, reference, e, swa4, 1, HQ, 8, 3, rnd);
            }
            check(tornado, reference, a, swa, 1, HQ, 8, 3, rnd);

            try (KvCache alone = new KvCache(HKV, D, B, precision); var swa5 = new SwaCache(HKV, D, 16, precision)) {
                appendSame(alone, swa5, 40, rnd);
                check(tornado, reference, alone, swa5, 1, HQ, 8, 3, rnd);
                assertEquals(2, tornado.deviceCopies());
            }
            assertEquals(1, tornado.deviceCopies(), "a standalone cache's copy goes with its close");
            assertEquals(grown, tornado.deviceMemoryBytes());
            pool.close();
            assertEquals(0, tornado.deviceMemoryBytes(), "every device copy freed with the pool");
        }
    }

    /**
     * A batch of decode rows of sequences of one pool (different lengths, each its own window ring) is one oracle
     * launch and one sparse launch, and each sequence gets the reference's result; a batch whose sink logits differ
     * goes request by request (one launch each), with the same results.
     */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void aBatchOnOnePoolIsOneLaunch(KvPrecision precision) {
        Random rnd = new Random(31 + precision.ordinal());
        int[] lengths = {70, 133, 41};
        try (var tornado = OnDevice.tornado(); var reference = new ReferenceBackend(); var pool = new KvPool(HKV, D, B, precision)) {
            java.util.List<KvCache> seqs = new java.util.ArrayList<>();
            java.util.List<SwaCache> rings = new java.util.ArrayList<>();
            java.util.List<OracleRequest> oracles = new java.util.ArrayList<>();
            for (int len : lengths) {
                KvCache c = pool.newSequence();
                SwaCache w = new SwaCache(HKV, D, 16, precision);
                appendSame(c, w, len, rnd);
                seqs.add(c);
                rings.add(w);
                oracles.add(OracleRequest.of(Queries.last(gaussian(HQ * D, rnd), 1, HQ, D, len), c, BlockGeometry.of(B)));
            }
            tornado.oracle(new OracleBatch(oracles)); // sizes the pool's plan for the batch (a growth makes a new plan)
            int before = tornado.launches(seqs.get(0));
            var got = tornado.oracle(new OracleBatch(oracles));
            assertEquals(before + 1, tornado.launches(seqs.get(0)), "three sequences' oracle rows in one launch");
            java.util.List<SparseRequest> sparse = new java.util.ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                OracleOutput want = reference.oracle(oracles.get(i));
                for (int x = 0; x < want.out().length; x++) {
                    assertEquals(want.out()[x], got.get(i).out()[x], precision == KvPrecision.FLOAT32 ? 1e-4 : 2e-2, "sequence " + i);
                }
                for (int x = 0; x < want.scores().data().length; x++) {
                    assertEquals(want.scores().data()[x], got.get(i).scores().data()[x], precision == KvPrecision.FLOAT32 ? 1e-5 : 1e-3);
                }
                BlockSelection sel = reference.select(new SelectionRequest(want.scores(), SelectionPolicy.TopK.paper(2)));
                float[] gSel = new float[HQ], gSwa = new float[HQ];
                for (int g = 0; g < HQ; g++) { gSel[g] = rnd.nextFloat(); gSwa[g] = rnd.nextFloat(); }
                sparse.add(SparseRequest.of(oracles.get(i).queries(), seqs.get(i).view(), sel, rings.get(i), 8, gSel, gSwa));
            }
            tornado.sparse(new SparseBatch(sparse)); // sizes the plan for the sparse batch (its rings)
            before = tornado.launches(seqs.get(0));
            var outs = tornado.sparse(new SparseBatch(sparse));
            assertEquals(before + 1, tornado.launches(seqs.get(0)), "three sequences' sparse rows in one launch");
            for (int i = 0; i < lengths.length; i++) {
                float[] want = reference.sparse(sparse.get(i));
                for (int x = 0; x < want.length; x++) assertEquals(want[x], outs.get(i)[x], precision == KvPrecision.FLOAT32 ? 1e-4 : 3e-2);
            }
            // Different sinks per request: request by request, the same results.
            java.util.List<SparseRequest> mixed = new java.util.ArrayList<>(sparse);
            float[] sink = new float[HQ];
            java.util.Arrays.fill(sink, 1.5f);
            mixed.set(1, sparse.get(1).withSinks(sink, null));
            before = tornado.launches(seqs.get(0));
            var mixedOut = tornado.sparse(new SparseBatch(mixed));
            assertEquals(before + 3, tornado.launches(seqs.get(0)), "a batch whose sinks differ runs request by request");
            float[] want1 = reference.sparse(mixed.get(1));
            for (int x = 0; x < want1.length; x++) assertEquals(want1[x], mixedOut.get(1)[x], precision == KvPrecision.FLOAT32 ? 1e-4 : 3e-2);
            rings.forEach(SwaCache::close);
        }
    }

    /** The window ring shares the cache's device buffer, so a window cache of another precision is refused, output untouched. */
    @org.junit.jupiter.api.Test
    void windowOfAnotherPrecisionIsRefusedByName() {
        Random rnd = new Random(7);
        try (var tornado = OnDevice.tornado();
             var cache = new KvCache(HKV, D, B, KvPrecision.FLOAT16);
             var swa = new SwaCache(HKV, D, 8, KvPrecision.FLOAT32)) {
            appendSame(cache, swa, 40, rnd);
            Queries q = Queries.last(gaussian(HQ * D, rnd), 1, HQ, D, cache.length());
            OracleRequest or = OracleRequest.of(q, cache, BlockGeometry.of(B));
            OracleOutput o = OracleOutput.allocate(or);
            tornado.oracle(or, o);
            BlockSelection sel = tornado.select(new SelectionRequest(o.scores(), SelectionPolicy.TopK.of(2)));
            float[] gates = new float[HQ];
            java.util.Arrays.fill(gates, 0.5f);
            float[] out = new float[HQ * D];
            java.util.Arrays.fill(out, 3f);
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> tornado.sparse(SparseRequest.of(q, cache.view(), sel, swa, 4, gates, gates), out));
            assertTrue(e.getMessage().startsWith("swa: expected the shared cache's precision fp16") && e.getMessage().endsWith("got fp32"), e.getMessage());
            for (float x : out) assertEquals(3f, x, "caller's output untouched");
        }
    }

    private static void append(KvCache cache, SwaCache swa, SwaCache swa2, int tokens, Random rnd) {
        appendSame(cache, swa, tokens, rnd);
        // The second layer's window holds other values than the cache: reading the wrong ring would show.
        swa2.append(gaussian(tokens * HKV * D, rnd), gaussian(tokens * HKV * D, rnd), tokens);
    }

    /** The same {@code tokens} random rows into the cache and its window cache. */
    private static void appendSame(KvCache cache, SwaCache swa, int tokens, Random rnd) {
        int n = tokens * cache.kvHeads() * cache.headDim();
        float[] k = gaussian(n, rnd), v = gaussian(n, rnd);
        cache.append(k, v, tokens);
        swa.append(k, v, tokens);
    }

    /**
     * The oracle alone for the last {@code rows} rows, on the plan the cache has now (a sparse call whose window ring
     * needed room got a new plan, on which no oracle ran yet); returns the graph it ran through.
     */
    private static String oracleAgain(TornadoBackend tornado, KvCache cache, int rows, Random rnd) {
        Queries q = Queries.last(gaussian(rows * HQ * cache.headDim(), rnd), rows, HQ, cache.headDim(), cache.length());
        tornado.oracle(OracleRequest.of(q, cache, BlockGeometry.of(B)));
        return tornado.lastOracleGraph(cache);
    }

    /**
     * The last {@code rows} rows of the cache: oracle, TopK topK, sparse through the view; both against the
     * reference. Returns the selection.
     */
    private static BlockSelection check(TornadoBackend tornado, AttentionBackend reference, KvCache cache, SwaCache swa, int rows, int hq,
                                        int window, int topK, Random rnd) {
        int d = cache.headDim();
        return check(tornado, reference, cache, swa, Queries.last(gaussian(rows * hq * d, rnd), rows, hq, d, cache.length()), window, topK);
    }

    /** {@link #check} for the rows of {@code q}. */
    private static BlockSelection check(TornadoBackend tornado, AttentionBackend reference, KvCache cache, SwaCache swa, Queries q,
                                        int window, int topK) {
        int rows = q.rows(), hq = q.heads(), d = q.headDim();
        OracleRequest or = OracleRequest.of(q, cache, BlockGeometry.of(B));
        OracleOutput got = OracleOutput.allocate(or), want = OracleOutput.allocate(or);
        tornado.oracle(or, got);
        reference.oracle(or, want);
        close("oracle out", want.out(), got.out());
        close("oracle S", want.scores().data(), got.scores().data());
        BlockSelection sel = reference.select(new SelectionRequest(want.scores(), SelectionPolicy.TopK.of(topK)));
        float[] gates = new float[rows * hq];
        java.util.Arrays.fill(gates, 0.5f);
        SparseRequest sr = SparseRequest.of(q, cache.view(), sel, swa, window, gates, gates);
        float[] outGot = new float[rows * hq * d], outWant = new float[rows * hq * d];
        tornado.sparse(sr, outGot);
        reference.sparse(sr, outWant);
        close("sparse out", outWant, outGot);
        return sel;
    }

    private static void close(String what, float[] want, float[] got) {
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(want[i] - got[i]) <= 1e-4 * (1 + Math.abs(want[i])), what + " at " + i + ": want " + want[i] + " got " + got[i]);
        }
    }

    private static float[] gaussian(int n, Random rnd) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }
}
