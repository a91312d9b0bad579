package org.hysparse.backend.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The device kernels. Attention ({@link #attend}) runs one work-group of {@link #LOCAL} threads per (row, KV head,
 * up to {@link #HEADS} query heads of its group, split), and for prefill-sized calls {@link #attendTile} one per
 * (tile of rows, KV head, heads, split), {@link #SLOTS} query vectors sharing each load; {@link #mergeSplits} one
 * per query vector (and per 128 blocks of a (KV head, query block)'s scores), {@link #rankBlocks} one per (KV head,
 * query block), and {@link #appendRows} one thread per element. Sizes arrive in an {@link IntArray} of parameters so that one compiled kernel serves
 * every shape. The full cache is paged ({@link #valueAt}): a float32 V row {@code (t, h)} starts at element
 * {@code (t / B) * PAGE + (h * B + t % B) * ROW} (ROW = D rounded up to even); 16-bit V rows are stored by slot pairs,
 * the word {@code (t / B) * PAGE / 2 + (h * B / 2 + s / 2) * ROW + e} holding dimension e of slots s and s + 1 (s even),
 * so that one 32-bit load brings a thread (one dimension) two keys of its chunk; and K is transposed
 * ({@link #keyAt}) so that the threads of a chunk, one key each, read neighbouring addresses: float32 element e of
 * key {@code (t, h)} at {@code (t / B) * KPAGE + (h * D + e) * B + t % B}; 16-bit keys by dimension pairs, the word
 * {@code (t / B) * KPAGE / 2 + (h * ROW / 2 + e / 2) * B + t % B} holding dimensions e and e + 1 of one key, so
 * that one 32-bit load brings a thread two of its key's dimensions and a warp's load is 128 contiguous bytes.
 * Here t is a slot of the device buffers, not a sequence's position: the buffers hold a KV pool's pages, and a
 * sequence's block j is pool page {@code table[j]}, its block table riding in the parameters (each row names where
 * its sequence's table starts, {@code ROW_TABLE_AT}, so one launch serves rows of many sequences). Sparse layers'
 * window rings live in further pages of the same buffers: a ring's token t at slot {@code base + t % capacity},
 * base and capacity per row ({@code ROW_RING_AT}).
 * <p>The full cache is stored in its own precision: float32 in a {@link FloatArray}, float16 and bfloat16 as
 * raw bits, two to an {@link IntArray} word, decoded exactly by {@link #decode}. TornadoVM 5.2's OpenCL code
 * generator cannot reinterpret bits ({@code Float.intBitsToFloat}), and its {@code HalfFloatArray} needs
 * {@code cl_khr_fp16}, which neither PoCL nor NVIDIA's OpenCL driver offers. On TornadoVM's CUDA driver, whose
 * generated CUDA C always has {@code half}, float16 is kept in {@link HalfFloatArray}s instead ({@code nativeHalf} 1,
 * see {@link Devices#nativeHalf}), in the same half-word layout, and each number costs one load and one conversion
 * instruction. Every kernel takes all three kinds of array; {@code mbits} (mantissa bits: 0 for float32, 10 for
 * float16, 7 for bfloat16) and {@code nativeHalf} say which one holds the cache, and the others are small stand-ins.
 * Both are scalar arguments, which TornadoVM compiles in as constants (a pool's storage never changes): an OpenCL
 * program never contains the half-array code, which it could not build, and each pool's kernels hold one storage
 * path instead of three, which is less code for the device compiler (NVRTC), whose time every pool's first calls pay.
 * <p>Local-memory arrays are allocated and indexed in the kernel bodies only: TornadoVM 5.2 mis-indexes a local
 * array handed to another method, and a helper returns one value, so per-head state lives in local arrays
 * and the per-head lines are written out for the {@link #HEADS} heads. Helpers are small: TornadoVM refuses to
 * inline a method of more than 600 compiler nodes.
 * Kernel names avoid OpenCL built-ins ({@code select} is one): the generated program would not build.
 */
final class Kernels {
    static final int LOCAL = 128;
    // Parameter slots (19 is free: the storage's mantissa bits are a kernel argument, see the class comment).
    static final int HQ = 0, HKV = 1, DIM = 2, BLOCK = 3, QBLOCK = 4, TOKENS = 5, NB_STRIDE = 6, TILES = 7,
            NQB = 8, WINDOW = 9, TILES_AT = 10, CHUNK_STRIDE = 11, ATTEND_ROWS = 24, SINK = 12, LOCAL_BLOCKS = 13, BUDGET = 14, SEL_STRIDE = 15,
            STAGE_FIRST = 16, STAGE_TOKENS = 17, SPLITS = 18, ROW = 20, PAGE = 21, KPAGE = 22, MODE = 23,
            STARTS = 25, SCORES_AT = 26, COUNT_AT = 27, GATES_AT = 28, VECTORS = 29, SCORE_MODE = 30, SINKS_AT = 31,
            GATE_SEL_W = 32, GATE_SWA_W = 33, GATES_SWA_AT = 34, TABLE_AT = 35, ROW_TABLE_AT = 36, ROW_QB_AT = 37, ROW_RING_AT = 38,
            PARAMS = 39;
    /** {@code SCORE_MODE}: block mass, or largest probability (the paper's Eq. 3). */
    static final int SCORES_MASS = 0, SCORES_MAX = 1;
    /** Floats per chunk-statistics segment: reference max, sum and largest exponential relative to the reference. */
    static final int STAT = 3;
    /** Query heads one attention work-group serves (GQA: they share every K/V load), and the largest head dim. */
    static final int HEADS = 4, DMAX = 256;
    /**
     * Query vectors one {@link #attendTile} work-group serves: {@code SLOTS / min(HEADS, group)} rows of a sequence
     * times the heads of a group, each key and value loaded once for all of them. {@code PARTS} threads per slot
     * share a chunk's softmax, {@code LOCAL / PARTS} keys each.
     */
    static final int SLOTS = 16, PARTS = LOCAL / SLOTS, PART_KEYS = LOCAL / PARTS, HALF = LOCAL / 2;
    /**
     * Parameter slots; each row's position follows at {@code PARAMS + row}. The query array holds the scale at 0,
     * then the queries. {@code consts} holds the 16-bit decode table from {@code TABLE}: for each sign and exponent
     * {@code se = bits >>> mbits}, (-1)^sign * 2^(max(e, 1) - bias - mbits), infinity for the top exponent (a float
     * beyond the 16-bit range is stored as infinity); {@code TABLE_SIZE} covers bfloat16's 9 bits.
     */
    static final int TABLE = 0, TABLE_SIZE = 512, CONSTS = TABLE + TABLE_SIZE;

    private Kernels() {
    }

    /**
     * Writes staged rows into the resident cache: {@code STAGE_TOKENS} tokens from {@code STAGE_FIRST}, laid out
     * {@code [token][kvHead][ROW]} in the staging arrays (floats, or 16-bit pairs in words). float32 V keeps that
     * row layout; K is stored transposed and 16-bit V by slot pairs (see the class comment). A 16-bit word of the
     * staging row, dimensions 2e and 2e + 1 of one key, is one word of the transposed K. A 16-bit V word holds two
     * slots: the thread of the even slot (or of the run's first token) writes it, keeping the half of a token
     * outside this run. The rest of the cache stays on the device.
     */
    static void appendRows(KernelContext ctx, FloatArray newKf, FloatArray newVf, IntArray newKh, IntArray newVh, HalfFloatArray newKx,
                           HalfFloatArray newVx, int nativeHalf, int mbits, int shapeB, int shapeD, int shapeHkv, IntArray p, FloatArray kf, FloatArray vf, IntArray kh, IntArray vh,
                           HalfFloatArray kx, HalfFloatArray vx) {
        int i = ctx.globalIdx;
        int hkv = shape(shapeHkv, p, HKV), b = shape(shapeB, p, BLOCK), row = rowOf(shapeD, p), d = p.get(DIM);
        int kPage = kPageOf(shapeB, shapeHkv, shapeD, mbits, p), page = pageOf(shapeB, shapeHkv, shapeD, p);
        int first = p.get(STAGE_FIRST), n = p.get(STAGE_TOKENS);
        if (mbits == 0 && i < n * hkv * d) {
            int r = i / d, e = i % d;
            int t = first + r / hkv, h = r % hkv;
            vf.set(valueAt(t, h, e, b, row, page, mbits), newVf.get(r * row + e));
            kf.set(keyAt(t, h, e, b, d, row, kPage, mbits), newKf.get(r * row + e));
        }
        if (nativeHalf == 1 && i < n * hkv * d) {
            // One 16-bit number per thread: a half is addressable on its own, so no word is read back and merged.
            int r = i / d, e = i % d;
            int t = first + r / hkv, h = r % hkv;
            kx.set(keyAt(t, h, e, b, d, row, kPage, mbits), newKx.get(r * row + e));
            vx.set(valueAt(t, h, e, b, row, page, mbits), newVx.get(r * row + e));
        }
        if (nativeHalf == 1 && first < 0) {
            // Never runs (runs start at a token); a read of both caches, so that TornadoVM treats them as read-write:
            // it does not copy a write-only argument to the device, and the cache already there would be lost.
            kx.set(0, kx.get(0));
            vx.set(0, vx.get(0));
        }
        if (mbits != 0 && nativeHalf == 0 && i < n * hkv * (row / 2)) {
            int r = i / (row / 2), e = i % (row / 2);
            kh.set(keyAt(first + r / hkv, r % hkv, 2 * e, b, d, row, kPage, mbits) / 2, newKh.get(i));
        }
        if (mbits != 0 && nativeHalf == 0 && i < n * hkv * d) {
            int r = i / d, e = i % d;
            int t = first + r / hkv, h = r % hkv, s = t % b;
            if (s % 2 == 0 || t == first) {
                int even = t - s % 2;
                int at = valueAt(even, h, e, b, row, page, mbits) / 2;
                int word = vh.get(at);
                int lo = even >= first ? half(newVh, ((even - first) * hkv + h) * row + e) : word & 0xffff;
                // A signed shift and a mask: TornadoVM 5.2 emits >>> as OpenCL's >>, arithmetic on an int.
                int hi = even + 1 < first + n ? half(newVh, ((even + 1 - first) * hkv + h) * row + e) : (word >> 16) & 0xffff;
                vh.set(at, (hi << 16) | lo);
            }
        }
    }

    /**
     * A pool-shape value (block size or KV heads) in a kernel: {@code constant}, a scalar argument that TornadoVM
     * compiles in (divisions by the block size become shifts, and the value costs no register or load), or where it
     * is 0 (option {@code specialize=none}) the parameter's, read where it is used. The head dim is compiled into the
     * address arithmetic only ({@link #rowOf}, {@link #pageOf}, {@link #kPageOf}); the kernels' loops run to the
     * parameter's, see {@link #attend}.
     */
    static int shape(int constant, IntArray p, int slot) {
        return constant > 0 ? constant : p.get(slot);
    }

    /** A V row's floats (D rounded up to even), compiled in or from the parameters as {@link #shape}. */
    static int rowOf(int dim, IntArray p) {
        return dim > 0 ? row(dim) : p.get(ROW);
    }

    /** Elements of a V page, compiled in or from the parameters as {@link #shape}. */
    static int pageOf(int block, int kvHeads, int dim, IntArray p) {
        return block > 0 ? vPage(block, kvHeads, dim) : p.get(PAGE);
    }

    /** Elements of a K page, compiled in or from the parameters as {@link #shape}. */
    static int kPageOf(int block, int kvHeads, int dim, int mbits, IntArray p) {
        return block > 0 ? kPage(block, kvHeads, dim, mbits) : p.get(KPAGE);
    }

    /** Floats of a V row (and of a 16-bit K row): D rounded up to even, so that 16-bit pairs never straddle rows. */
    static int row(int d) {
        return d + (d & 1);
    }

    /** Elements of a V page: B tokens of every KV head, a row each (see the class comment). */
    static int vPage(int b, int hkv, int d) {
        return b * hkv * row(d);
    }

    /** Elements of a K page: 16-bit keys are stored by dimension pairs, so an odd D is padded like a V row. */
    static int kPage(int b, int hkv, int d, int mbits) {
        return hkv * (mbits == 0 ? d : row(d)) * b;
    }

    /**
     * Where dimension e of value {@code (t, h)} sits in the V buffer: a float index, or for 16-bit values the
     * half-word index (word {@code / 2}, half = slot parity); see the class comment. The host's upload uses it too.
     */
    static int valueAt(int t, int h, int e, int b, int row, int page, int mbits) {
        if (mbits == 0) return (t / b) * page + (h * b + t % b) * row + e;
        return 2 * ((t / b) * (page / 2) + (h * (b / 2) + (t % b) / 2) * row + e) + t % 2;
    }

    /**
     * Where dimension e of key {@code (t, h)} sits in the K buffer: a float index, or for 16-bit keys the half-word
     * index (word {@code / 2}, half {@code e & 1}); see the class comment. The host's upload uses it too.
     */
    static int keyAt(int t, int h, int e, int b, int d, int row, int kPage, int mbits) {
        if (mbits == 0) return (t / b) * kPage + (h * d + e) * b + t % b;
        return 2 * ((t / b) * (kPage / 2) + (h * (row / 2) + e / 2) * b + t % b) + (e & 1);
    }

    /** The 16-bit value at half-word i of an array of 16-bit pairs (a cache or a staging array). */
    private static int half(IntArray words, int i) {
        // A signed shift and a mask (workaround 2): where the half is known at compile time, a >>> 16 loses its mask
        // and is emitted as OpenCL's arithmetic >> (seen with the head dim compiled in, docs/adr/0007).
        return (words.get(i >> 1) >> ((i & 1) << 4)) & 0xffff;
    }

    /**
     * The float16 ({@code mbits} 10) or bfloat16 ({@code mbits} 7) value of 16 bits, exactly: (implicit bit +
     * mantissa) times {@code pow}, the entry of the sign-and-exponent table for {@code bits >> mbits} (see
     * {@link #TABLE}), which the caller reads from its local copy (a signed shift of a 16-bit value: with {@code mbits}
     * and the head dim compiled in, {@link #half}'s {@code (word >>> 16) & 0xffff} lost its mask and merged with
     * {@code >>> 10} into {@code word >>> 26}, which TornadoVM 5.2 emits as OpenCL's arithmetic {@code >>}: a negative
     * index; workaround 2). One int-to-float conversion and one multiply: computing the power
     * (a shift and a second conversion, a sign select, an infinity test) made the 16-bit kernel slower than float32.
     * The implicit bit is min(exponent bits, 1 << mbits), which is 0 exactly for subnormals: no compare and select.
     * Fewer instructions still (a table of (power, leading bit) pairs and one fused multiply-add, measured together
     * with dot products as chains of fused multiply-adds: 172 -> about 115 instructions per eight key dimensions)
     * did not make the words kernel faster, so the table was not kept (nor the chains: {@link #dot8}).
     * What bounds the 16-bit words kernel is this decode and the latency around it, not DRAM (profiled with
     * {@code benchmarks/gpu/ncu_attend.py}; docs/tornado/README.md).
     */
    static float decode(int bits, float pow, int mbits) {
        int implicit = 1 << mbits;
        return (float) ((bits & (implicit - 1)) + TornadoMath.min(bits & (0x7fff ^ (implicit - 1)), implicit)) * pow;
    }

    /**
     * SPEC 1 and SPEC 3, split-K and grouped by KV head. Work-group {@code ((row * Hkv + h) * groups + hg) * per + sp}
     * serves the (up to) {@link #HEADS} query heads {@code hg * HEADS ..} of KV head h's group for one row: each key
     * and value is loaded and decoded once for all of them. {@code per} is {@code SPLITS} for the oracle
     * ({@code MODE} 0, split sp takes its share of the visible blocks) and {@code SPLITS + 1} for sparse (split sp
     * takes its share of the selected blocks of list {@code sel}, and split {@code SPLITS} the window ring). A chunk
     * is {@link #LOCAL} keys, one per thread, taken in order from the split's blocks (so it may span several small
     * blocks); the online softmax runs per head over chunks. Each split leaves a partial (max, sum, accumulator) per
     * head for {@link #mergeSplits}; the oracle also leaves, per segment of
     * {@code min(B, LOCAL)} tokens, the chunk's reference max and the segment's sum, from which block masses follow.
     * Local arrays are allocated and indexed here only (see the class comment); heads past the group's end compute
     * on zero queries and write nothing.
     */
    static void attend(KernelContext ctx, FloatArray q, FloatArray kf, FloatArray vf, IntArray kh, IntArray vh, HalfFloatArray kx,
                       HalfFloatArray vx, int nativeHalf, int mbits, int shapeB, int shapeD, int shapeHkv, int fixedGrid, IntArray p, FloatArray consts, IntArray sel, FloatArray partial, FloatArray stats) {
        float[] qs = ctx.allocateFloatLocalArray(HEADS * DMAX);
        float[] acc = ctx.allocateFloatLocalArray(HEADS * DMAX);
        float[] pr = ctx.allocateFloatLocalArray(HEADS * LOCAL);
        float[] mx = ctx.allocateFloatLocalArray(HEADS * LOCAL);
        float[] sm = ctx.allocateFloatLocalArray(HEADS * LOCAL);
        float[] sx = ctx.allocateFloatLocalArray(HEADS * LOCAL);
        float[] ml = ctx.allocateFloatLocalArray(2 * HEADS);
        int[] vrow = ctx.allocateIntLocalArray(LOCAL);
        int[] tblk = ctx.allocateIntLocalArray(LOCAL);
        int[] tpage = ctx.allocateIntLocalArray(LOCAL);
        float[] pw = ctx.allocateFloatLocalArray(TABLE_SIZE);
        int lid = ctx.localIdx;
        // The head dim stays the parameter's here (only the address arithmetic takes it compiled in): with a known trip
        // count the loops over the head dim were unrolled whole, twice the code, and the tiled kernel ran 20-45% slower
        // on PoCL (docs/adr/0007).
        int hq = p.get(HQ), hkv = shape(shapeHkv, p, HKV), d = p.get(DIM), b = shape(shapeB, p, BLOCK);
        int group = hq / hkv, groups = (group + HEADS - 1) / HEADS;
        boolean oracle = p.get(MODE) == 0;
        int splits = p.get(SPLITS), per = oracle ? splits : splits + 1;
        int sp = ctx.groupIdx % per, unit = ctx.groupIdx / per;
        int hg = unit % groups, h = (unit / groups) % hkv, r = unit / groups / hkv;
        // Under a CUDA graph (fixedGrid 1) the grid stays the size it was captured with, and a work-group past
        // this call's rows has nothing to do. One return before any work, not guards on the loads below: the kernel is
        // at 128 registers (4 work-groups an SM), and guarded loads cost it a work-group an SM. A scalar argument,
        // compiled in as a constant, so that an OpenCL program never has the return (PoCL miscompiles it into zero
        // outputs); calls size the grid exactly. A call that runs attendTile instead gives this kernel no rows (ATTEND_ROWS 0).
        if (fixedGrid == 1 && r >= p.get(ATTEND_ROWS)) return;
        int x0 = r * hq + h * group + hg * HEADS, heads = TornadoMath.min(HEADS, group - hg * HEADS);
        int last = p.get(PARAMS + r);
        // Queries pre-scaled in local memory: the scale then needs no register through the key loop.
        for (int i = lid; i < HEADS * d; i += LOCAL) {
            int g = i / d, e = i % d;
            qs[g * DMAX + e] = g < heads ? q.get(1 + (x0 + g) * d + e) * q.get(0) : 0f;
            acc[g * DMAX + e] = 0f;
        }
        for (int i = lid; i < TABLE_SIZE; i += LOCAL) pw[i] = consts.get(TABLE + i);
        if (lid < HEADS) {
            ml[lid] = Float.NEGATIVE_INFINITY;
            ml[HEADS + lid] = 0f;
        }
        // The split's keys are [0, keys): key i is token (block c0 + i / B, slot i % B) of the cache, or window token
        // from + i, which sits in the ring's pages at slot base + (from + i) % capacity (this row's ring, ROW_RING_AT).
        boolean window = !oracle && sp == splits;
        // Per row (a call may batch rows of several sequences): its query block among the call's, where its sequence's
        // block table starts in the parameters, and its window ring (first slot, capacity).
        int list = h * p.get(NQB) + p.get(p.get(ROW_QB_AT) + r), listAt = oracle ? 0 : list * p.get(SEL_STRIDE);
        int tableAt = p.get(p.get(ROW_TABLE_AT) + r), ringAt = p.get(ROW_RING_AT) + 2 * r;
        int blocks = oracle ? last / b + 1 : sel.get(p.get(COUNT_AT) + list);
        int share = (blocks + splits - 1) / splits;
        int c0 = sp * share, c1 = TornadoMath.min(blocks, c0 + share);
        int from = TornadoMath.max(0, last - p.get(WINDOW) + 1);
        int keys = window ? (p.get(WINDOW) > 0 ? last + 1 - from : 0) : TornadoMath.max(0, c1 - c0) * b;
        // Shape values, the window's first token and its ring are read from the parameters where they are used, not
        // kept in registers through the key loop: at 128 registers a thread four work-groups share an SM, past it
        // three (issue 24: the per-pool parameters had taken the kernel to 130, and dense decode at 128k from 0.36 to
        // 0.53 ms). The parameters are read-only and cached; stores in the loop keep the compiler from hoisting them.
        ctx.localBarrier();
        // The split's blocks (relative index c - c0) and their pool pages, LOCAL at a time from block wb, loaded by the
        // work-group together into local memory: looked up per key, each chunk began with one (sparse: two) more
        // dependent round trip to global memory before its first key load.
        int wb = -LOCAL;
        for (int i0 = 0; i0 < keys; i0 += LOCAL) {
            if (!window && TornadoMath.min(c1 - c0 - 1, (i0 + LOCAL - 1) / b) >= wb + LOCAL) {
                wb = i0 / b;
                ctx.localBarrier();
                int cw = c0 + wb + lid;
                if (cw < c1) {
                    // Logical block blk of the sequence, at its pool page: the block table rides in the parameters.
                    int bw = oracle ? cw : sel.get(listAt + cw);
                    tblk[lid] = bw;
                    tpage[lid] = p.get(tableAt + bw);
                }
                ctx.localBarrier();
            }
            int i = i0 + lid;
            boolean visible = i < keys;
            int t;
            if (window) {
                t = p.get(ringAt) + (TornadoMath.max(0, last - p.get(WINDOW) + 1) + i) % p.get(ringAt + 1);
            } else {
                int rel = TornadoMath.min(i / b, c1 - c0 - 1) - wb;
                int blk = tblk[rel];
                visible = visible && blk * b + i % b <= last;
                t = tpage[rel] * b + i % b;
            }
            int kAt = keyAt(t, h, 0, b, d, rowOf(shapeD, p), kPageOf(shapeB, shapeHkv, shapeD, mbits, p), mbits);
            // Dimension 0 of this key's value; dimensions step by 1 (float32) or by 2 halves (16-bit slot pairs).
            vrow[lid] = valueAt(t, h, 0, b, rowOf(shapeD, p), pageOf(shapeB, shapeHkv, shapeD, p), mbits);
            float d0 = 0f, d1 = 0f, d2 = 0f, d3 = 0f;
            if (visible) {
                // Eight loads in flight before their first use: one at a time, each chunk waited out D memory latencies.
                int e = 0;
                // Half arrays: thirty-two loads in flight, twice the bytes of eight float32 loads. A step is one memory
                // round trip, so a step of eight 16-bit loads moved half of float32's bytes for the same latency.
                for (; nativeHalf == 1 && e + 32 <= d; e += 32) {
                    int at = kAt + e * b;
                    float k0 = kx.get(at).getFloat32(), k1 = kx.get(at + 1).getFloat32(), k2 = kx.get(at + 2 * b).getFloat32(), k3 = kx.get(at + 2 * b + 1).getFloat32();
                    float k4 = kx.get(at + 4 * b).getFloat32(), k5 = kx.get(at + 4 * b + 1).getFloat32(), k6 = kx.get(at + 6 * b).getFloat32(), k7 = kx.get(at + 6 * b + 1).getFloat32();
                    float k8 = kx.get(at + 8 * b).getFloat32(), k9 = kx.get(at + 8 * b + 1).getFloat32(), k10 = kx.get(at + 10 * b).getFloat32(), k11 = kx.get(at + 10 * b + 1).getFloat32();
                    float k12 = kx.get(at + 12 * b).getFloat32(), k13 = kx.get(at + 12 * b + 1).getFloat32(), k14 = kx.get(at + 14 * b).getFloat32(), k15 = kx.get(at + 14 * b + 1).getFloat32();
                    float k16 = kx.get(at + 16 * b).getFloat32(), k17 = kx.get(at + 16 * b + 1).getFloat32(), k18 = kx.get(at + 18 * b).getFloat32(), k19 = kx.get(at + 18 * b + 1).getFloat32();
                    float k20 = kx.get(at + 20 * b).getFloat32(), k21 = kx.get(at + 20 * b + 1).getFloat32(), k22 = kx.get(at + 22 * b).getFloat32(), k23 = kx.get(at + 22 * b + 1).getFloat32();
                    float k24 = kx.get(at + 24 * b).getFloat32(), k25 = kx.get(at + 24 * b + 1).getFloat32(), k26 = kx.get(at + 26 * b).getFloat32(), k27 = kx.get(at + 26 * b + 1).getFloat32();
                    float k28 = kx.get(at + 28 * b).getFloat32(), k29 = kx.get(at + 28 * b + 1).getFloat32(), k30 = kx.get(at + 30 * b).getFloat32(), k31 = kx.get(at + 30 * b + 1).getFloat32();
                    int q1 = DMAX + e, q2 = 2 * DMAX + e, q3 = 3 * DMAX + e;
                    d0 += dot8(qs[e], qs[e + 1], qs[e + 2], qs[e + 3], qs[e + 4], qs[e + 5], qs[e + 6], qs[e + 7], k0, k1, k2, k3, k4, k5, k6, k7)
                            + dot8(qs[e + 8], qs[e + 9], qs[e + 10], qs[e + 11], qs[e + 12], qs[e + 13], qs[e + 14], qs[e + 15], k8, k9, k10, k11, k12, k13, k14, k15)
                            + dot8(qs[e + 16], qs[e + 17], qs[e + 18], qs[e + 19], qs[e + 20], qs[e + 21], qs[e + 22], qs[e + 23], k16, k17, k18, k19, k20, k21, k22, k23)
                            + dot8(qs[e + 24], qs[e + 25], qs[e + 26], qs[e + 27], qs[e + 28], qs[e + 29], qs[e + 30], qs[e + 31], k24, k25, k26, k27, k28, k29, k30, k31);
                    d1 += dot8(qs[q1], qs[q1 + 1], qs[q1 + 2], qs[q1 + 3], qs[q1 + 4], qs[q1 + 5], qs[q1 + 6], qs[q1 + 7], k0, k1, k2, k3, k4, k5, k6, k7)
                            + dot8(qs[q1 + 8], qs[q1 + 9], qs[q1 + 10], qs[q1 + 11], qs[q1 + 12], qs[q1 + 13], qs[q1 + 14], qs[q1 + 15], k8, k9, k10, k11, k12, k13, k14, k15)
                            + dot8(qs[q1 + 16], qs[q1 + 17], qs[q1 + 18], qs[q1 + 19], qs[q1 + 20], qs[q1 + 21], qs[q1 + 22], qs[q1 + 23], k16, k17, k18, k19, k20, k21, k22, k23)
                            + dot8(qs[q1 + 24], qs[q1 + 25], qs[q1 + 26], qs[q1 + 27], qs[q1 + 28], qs[q1 + 29], qs[q1 + 30], qs[q1 + 31], k24, k25, k26, k27, k28, k29, k30, k31);
                    d2 += dot8(qs[q2], qs[q2 + 1], qs[q2 + 2], qs[q2 + 3], qs[q2 + 4], qs[q2 + 5], qs[q2 + 6], qs[q2 + 7], k0, k1, k2, k3, k4, k5, k6, k7)
                            + dot8(qs[q2 + 8], qs[q2 + 9], qs[q2 + 10], qs[q2 + 11], qs[q2 + 12], qs[q2 + 13], qs[q2 + 14], qs[q2 + 15], k8, k9, k10, k11, k12, k13, k14, k15)
                            + dot8(qs[q2 + 16], qs[q2 + 17], qs[q2 + 18], qs[q2 + 19], qs[q2 + 20], qs[q2 + 21], qs[q2 + 22], qs[q2 + 23], k16, k17, k18, k19, k20, k21, k22, k23)
                            + dot8(qs[q2 + 24], qs[q2 + 25], qs[q2 + 26], qs[q2 + 27], qs[q2 + 28], qs[q2 + 29], qs[q2 + 30], qs[q2 + 31], k24, k25, k26, k27, k28, k29, k30, k31);
                    d3 += dot8(qs[q3], qs[q3 + 1], qs[q3 + 2], qs[q3 + 3], qs[q3 + 4], qs[q3 + 5], qs[q3 + 6], qs[q3 + 7], k0, k1, k2, k3, k4, k5, k6, k7)
                            + dot8(qs[q3 + 8], qs[q3 + 9], qs[q3 + 10], qs[q3 + 11], qs[q3 + 12], qs[q3 + 13], qs[q3 + 14], qs[q3 + 15], k8, k9, k10, k11, k12, k13, k14, k15)
                            + dot8(qs[q3 + 16], qs[q3 + 17], qs[q3 + 18], qs[q3 + 19], qs[q3 + 20], qs[q3 + 21], qs[q3 + 22], qs[q3 + 23], k16, k17, k18, k19, k20, k21, k22, k23)
                            + dot8(qs[q3 + 24], qs[q3 + 25], qs[q3 + 26], qs[q3 + 27], qs[q3 + 28], qs[q3 + 29], qs[q3 + 30], qs[q3 + 31], k24, k25, k26, k27, k28, k29, k30, k31);
                }
                for (; e + 8 <= d; e += 8) {
                    int at = kAt + e * b;
                    float k0, k1, k2, k3, k4, k5, k6, k7;
                    if (mbits == 0) {
                        k0 = kf.get(at); k1 = kf.get(at + b); k2 = kf.get(at + 2 * b); k3 = kf.get(at + 3 * b);
                        k4 = kf.get(at + 4 * b); k5 = kf.get(at + 5 * b); k6 = kf.get(at + 6 * b); k7 = kf.get(at + 7 * b);
                    } else if (nativeHalf == 1) {
                        // The same eight numbers as below, each converted by the device in one instruction.
                        k0 = kx.get(at).getFloat32(); k1 = kx.get(at + 1).getFloat32(); k2 = kx.get(at + 2 * b).getFloat32(); k3 = kx.get(at + 2 * b + 1).getFloat32();
                        k4 = kx.get(at + 4 * b).getFloat32(); k5 = kx.get(at + 4 * b + 1).getFloat32(); k6 = kx.get(at + 6 * b).getFloat32(); k7 = kx.get(at + 6 * b + 1).getFloat32();
                    } else {
                        // Four words, eight dimensions of this key, then the decodes.
                        int kw = kAt / 2 + (e / 2) * b;
                        int u0 = kh.get(kw), u1 = kh.get(kw + b), u2 = kh.get(kw + 2 * b), u3 = kh.get(kw + 3 * b);
                        // A signed shift and a mask: TornadoVM 5.2 emits >>> as OpenCL's >>, which is arithmetic on an int,
                        // and the compiler drops a mask after a constant >>> as redundant.
                        int w0 = u0 & 0xffff, w1 = (u0 >> 16) & 0xffff, w2 = u1 & 0xffff, w3 = (u1 >> 16) & 0xffff;
                        int w4 = u2 & 0xffff, w5 = (u2 >> 16) & 0xffff, w6 = u3 & 0xffff, w7 = (u3 >> 16) & 0xffff;
                        k0 = decode(w0, pw[w0 >> mbits], mbits); k1 = decode(w1, pw[w1 >> mbits], mbits); k2 = decode(w2, pw[w2 >> mbits], mbits); k3 = decode(w3, pw[w3 >> mbits], mbits);
                        k4 = decode(w4, pw[w4 >> mbits], mbits); k5 = decode(w5, pw[w5 >> mbits], mbits); k6 = decode(w6, pw[w6 >> mbits], mbits); k7 = decode(w7, pw[w7 >> mbits], mbits);
                    }
                    d0 += dot8(qs[e], qs[e + 1], qs[e + 2], qs[e + 3], qs[e + 4], qs[e + 5], qs[e + 6], qs[e + 7], k0, k1, k2, k3, k4, k5, k6, k7);
                    int q1 = DMAX + e, q2 = 2 * DMAX + e, q3 = 3 * DMAX + e;
                    d1 += dot8(qs[q1], qs[q1 + 1], qs[q1 + 2], qs[q1 + 3], qs[q1 + 4], qs[q1 + 5], qs[q1 + 6], qs[q1 + 7], k0, k1, k2, k3, k4, k5, k6, k7);
                    d2 += dot8(qs[q2], qs[q2 + 1], qs[q2 + 2], qs[q2 + 3], qs[q2 + 4], qs[q2 + 5], qs[q2 + 6], qs[q2 + 7], k0, k1, k2, k3, k4, k5, k6, k7);
                    d3 += dot8(qs[q3], qs[q3 + 1], qs[q3 + 2], qs[q3 + 3], qs[q3 + 4], qs[q3 + 5], qs[q3 + 6], qs[q3 + 7], k0, k1, k2, k3, k4, k5, k6, k7);
                }
                for (; e < d; e++) {
                    int at = kAt + (e / 2) * 2 * b + (e & 1);
                    float k;
                    if (mbits == 0) {
                        k = kf.get(kAt + e * b);
                    } else if (nativeHalf == 1) {
                        k = kx.get(at).getFloat32();
                    } else {
                        int w = half(kh, at);
                        k = decode(w, pw[w >> mbits], mbits);
                    }
                    d0 += qs[e] * k;
                    d1 += qs[DMAX + e] * k;
                    d2 += qs[2 * DMAX + e] * k;
                    d3 += qs[3 * DMAX + e] * k;
                }
            }
            float none = Float.NEGATIVE_INFINITY;
            pr[lid] = visible ? d0 : none;
            pr[LOCAL + lid] = visible ? d1 : none;
            pr[2 * LOCAL + lid] = visible ? d2 : none;
            pr[3 * LOCAL + lid] = visible ? d3 : none;
            for (int g = 0; g < HEADS; g++) mx[g * LOCAL + lid] = pr[g * LOCAL + lid];
            ctx.localBarrier();
            for (int s = LOCAL / 2; s > 0; s >>= 1) {
                if (lid < s) {
                    for (int g = 0; g < HEADS; g++) mx[g * LOCAL + lid] = TornadoMath.max(mx[g * LOCAL + lid], mx[g * LOCAL + lid + s]);
                }
                ctx.localBarrier();
            }
            // Each head's reference for this chunk: max(running max, chunk max), 0 while nothing is visible.
            for (int g = 0; g < HEADS; g++) {
                float ref = reference(ml[g], mx[g * LOCAL]);
                float logit = pr[g * LOCAL + lid];
                float e = logit == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(logit - ref);
                pr[g * LOCAL + lid] = e;
                sm[g * LOCAL + lid] = e;
                sx[g * LOCAL + lid] = e;
            }
            ctx.localBarrier();
            // Pairwise sums by doubling strides, so that each segment's own sum passes through sm[g * LOCAL + lid] at
            // lid = k * seg; that thread records it before its own next add overwrites it.
            // The oracle keeps each segment's largest exponential beside its sum, by the same strides (both score
            // modes from this one pass: a block's mass or its largest probability, once the row's max and sum are known).
            for (int s = 1; s <= LOCAL; s <<= 1) {
                int seg = TornadoMath.min(b, LOCAL);
                if (oracle && s == seg && lid % seg == 0 && i0 + lid < keys) {
                    for (int g = 0; g < heads; g++) {
                        int at = ((x0 + g) * p.get(CHUNK_STRIDE) + (c0 * b + i0 + lid) / seg) * STAT;
                        stats.set(at, reference(ml[g], mx[g * LOCAL]));
                        stats.set(at + 1, sm[g * LOCAL + lid]);
                        stats.set(at + 2, sx[g * LOCAL + lid]);
                    }
                }
                if (s < LOCAL && lid % (2 * s) == 0) {
                    for (int g = 0; g < HEADS; g++) sm[g * LOCAL + lid] += sm[g * LOCAL + lid + s];
                    if (oracle) {
                        for (int g = 0; g < HEADS; g++) sx[g * LOCAL + lid] = TornadoMath.max(sx[g * LOCAL + lid], sx[g * LOCAL + lid + s]);
                    }
                }
                ctx.localBarrier();
            }
            int n = TornadoMath.min(LOCAL, keys - i0);
            // Keys 2j and 2j + 1 of a chunk share a 16-bit V word, except in a window that starts at an odd position
            // or wraps at an odd capacity. Integer arithmetic, not a boolean expression: TornadoVM 5.2 compiled
            // !window || (...) here into a flag that read wrongly.
            int unpaired = window ? (TornadoMath.max(0, last - p.get(WINDOW) + 1) | p.get(ringAt + 1)) & 1 : 0;
            for (int dim = lid; dim < d; dim += LOCAL) {
                float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
                int tt = 0;
                for (; nativeHalf == 1 && unpaired == 0 && tt + 32 <= n; tt += 32) {
                    float v0 = vx.get(vrow[tt] + 2 * dim).getFloat32(), v1 = vx.get(vrow[tt] + 2 * dim + 1).getFloat32();
                    float v2 = vx.get(vrow[tt + 2] + 2 * dim).getFloat32(), v3 = vx.get(vrow[tt + 2] + 2 * dim + 1).getFloat32();
                    float v4 = vx.get(vrow[tt + 4] + 2 * dim).getFloat32(), v5 = vx.get(vrow[tt + 4] + 2 * dim + 1).getFloat32();
                    float v6 = vx.get(vrow[tt + 6] + 2 * dim).getFloat32(), v7 = vx.get(vrow[tt + 6] + 2 * dim + 1).getFloat32();
                    float v8 = vx.get(vrow[tt + 8] + 2 * dim).getFloat32(), v9 = vx.get(vrow[tt + 8] + 2 * dim + 1).getFloat32();
                    float v10 = vx.get(vrow[tt + 10] + 2 * dim).getFloat32(), v11 = vx.get(vrow[tt + 10] + 2 * dim + 1).getFloat32();
                    float v12 = vx.get(vrow[tt + 12] + 2 * dim).getFloat32(), v13 = vx.get(vrow[tt + 12] + 2 * dim + 1).getFloat32();
                    float v14 = vx.get(vrow[tt + 14] + 2 * dim).getFloat32(), v15 = vx.get(vrow[tt + 14] + 2 * dim + 1).getFloat32();
                    float v16 = vx.get(vrow[tt + 16] + 2 * dim).getFloat32(), v17 = vx.get(vrow[tt + 16] + 2 * dim + 1).getFloat32();
                    float v18 = vx.get(vrow[tt + 18] + 2 * dim).getFloat32(), v19 = vx.get(vrow[tt + 18] + 2 * dim + 1).getFloat32();
                    float v20 = vx.get(vrow[tt + 20] + 2 * dim).getFloat32(), v21 = vx.get(vrow[tt + 20] + 2 * dim + 1).getFloat32();
                    float v22 = vx.get(vrow[tt + 22] + 2 * dim).getFloat32(), v23 = vx.get(vrow[tt + 22] + 2 * dim + 1).getFloat32();
                    float v24 = vx.get(vrow[tt + 24] + 2 * dim).getFloat32(), v25 = vx.get(vrow[tt + 24] + 2 * dim + 1).getFloat32();
                    float v26 = vx.get(vrow[tt + 26] + 2 * dim).getFloat32(), v27 = vx.get(vrow[tt + 26] + 2 * dim + 1).getFloat32();
                    float v28 = vx.get(vrow[tt + 28] + 2 * dim).getFloat32(), v29 = vx.get(vrow[tt + 28] + 2 * dim + 1).getFloat32();
                    float v30 = vx.get(vrow[tt + 30] + 2 * dim).getFloat32(), v31 = vx.get(vrow[tt + 30] + 2 * dim + 1).getFloat32();
                    int p1 = LOCAL + tt, p2 = 2 * LOCAL + tt, p3 = 3 * LOCAL + tt;
                    a0 += dot8(pr[tt], pr[tt + 1], pr[tt + 2], pr[tt + 3], pr[tt + 4], pr[tt + 5], pr[tt + 6], pr[tt + 7], v0, v1, v2, v3, v4, v5, v6, v7)
                            + dot8(pr[tt + 8], pr[tt + 9], pr[tt + 10], pr[tt + 11], pr[tt + 12], pr[tt + 13], pr[tt + 14], pr[tt + 15], v8, v9, v10, v11, v12, v13, v14, v15)
                            + dot8(pr[tt + 16], pr[tt + 17], pr[tt + 18], pr[tt + 19], pr[tt + 20], pr[tt + 21], pr[tt + 22], pr[tt + 23], v16, v17, v18, v19, v20, v21, v22, v23)
                            + dot8(pr[tt + 24], pr[tt + 25], pr[tt + 26], pr[tt + 27], pr[tt + 28], pr[tt + 29], pr[tt + 30], pr[tt + 31], v24, v25, v26, v27, v28, v29, v30, v31);
                    a1 += dot8(pr[p1], pr[p1 + 1], pr[p1 + 2], pr[p1 + 3], pr[p1 + 4], pr[p1 + 5], pr[p1 + 6], pr[p1 + 7], v0, v1, v2, v3, v4, v5, v6, v7)
                            + dot8(pr[p1 + 8], pr[p1 + 9], pr[p1 + 10], pr[p1 + 11], pr[p1 + 12], pr[p1 + 13], pr[p1 + 14], pr[p1 + 15], v8, v9, v10, v11, v12, v13, v14, v15)
                            + dot8(pr[p1 + 16], pr[p1 + 17], pr[p1 + 18], pr[p1 + 19], pr[p1 + 20], pr[p1 + 21], pr[p1 + 22], pr[p1 + 23], v16, v17, v18, v19, v20, v21, v22, v23)
                            + dot8(pr[p1 + 24], pr[p1 + 25], pr[p1 + 26], pr[p1 + 27], pr[p1 + 28], pr[p1 + 29], pr[p1 + 30], pr[p1 + 31], v24, v25, v26, v27, v28, v29, v30, v31);
                    a2 += dot8(pr[p2], pr[p2 + 1], pr[p2 + 2], pr[p2 + 3], pr[p2 + 4], pr[p2 + 5], pr[p2 + 6], pr[p2 + 7], v0, v1, v2, v3, v4, v5, v6, v7)
                            + dot8(pr[p2 + 8], pr[p2 + 9], pr[p2 + 10], pr[p2 + 11], pr[p2 + 12], pr[p2 + 13], pr[p2 + 14], pr[p2 + 15], v8, v9, v10, v11, v12, v13, v14, v15)
                            + dot8(pr[p2 + 16], pr[p2 + 17], pr[p2 + 18], pr[p2 + 19], pr[p2 + 20], pr[p2 + 21], pr[p2 + 22], pr[p2 + 23], v16, v17, v18, v19, v20, v21, v22, v23)
                            + dot8(pr[p2 + 24], pr[p2 + 25], pr[p2 + 26], pr[p2 + 27], pr[p2 + 28], pr[p2 + 29], pr[p2 + 30], pr[p2 + 31], v24, v25, v26, v27, v28, v29, v30, v31);
                    a3 += dot8(pr[p3], pr[p3 + 1], pr[p3 + 2], pr[p3 + 3], pr[p3 + 4], pr[p3 + 5], pr[p3 + 6], pr[p3 + 7], v0, v1, v2, v3, v4, v5, v6, v7)
                            + dot8(pr[p3 + 8], pr[p3 + 9], pr[p3 + 10], pr[p3 + 11], pr[p3 + 12], pr[p3 + 13], pr[p3 + 14], pr[p3 + 15], v8, v9, v10, v11, v12, v13, v14, v15)
                            + dot8(pr[p3 + 16], pr[p3 + 17], pr[p3 + 18], pr[p3 + 19], pr[p3 + 20], pr[p3 + 21], pr[p3 + 22], pr[p3 + 23], v16, v17, v18, v19, v20, v21, v22, v23)
                            + dot8(pr[p3 + 24], pr[p3 + 25], pr[p3 + 26], pr[p3 + 27], pr[p3 + 28], pr[p3 + 29], pr[p3 + 30], pr[p3 + 31], v24, v25, v26, v27, v28, v29, v30, v31);
                }
                for (; tt + 8 <= n; tt += 8) {
                    float v0, v1, v2, v3, v4, v5, v6, v7;
                    if (mbits == 0) {
                        v0 = vf.get(vrow[tt] + dim); v1 = vf.get(vrow[tt + 1] + dim); v2 = vf.get(vrow[tt + 2] + dim); v3 = vf.get(vrow[tt + 3] + dim);
                        v4 = vf.get(vrow[tt + 4] + dim); v5 = vf.get(vrow[tt + 5] + dim); v6 = vf.get(vrow[tt + 6] + dim); v7 = vf.get(vrow[tt + 7] + dim);
                    } else if (nativeHalf == 1) {
                        v0 = vx.get(vrow[tt] + 2 * dim).getFloat32(); v1 = vx.get(vrow[tt + 1] + 2 * dim).getFloat32();
                        v2 = vx.get(vrow[tt + 2] + 2 * dim).getFloat32(); v3 = vx.get(vrow[tt + 3] + 2 * dim).getFloat32();
                        v4 = vx.get(vrow[tt + 4] + 2 * dim).getFloat32(); v5 = vx.get(vrow[tt + 5] + 2 * dim).getFloat32();
                        v6 = vx.get(vrow[tt + 6] + 2 * dim).getFloat32(); v7 = vx.get(vrow[tt + 7] + 2 * dim).getFloat32();
                    } else {
                        int w0, w1, w2, w3, w4, w5, w6, w7;
                        if (unpaired == 0) {
                            int u0 = vh.get(vrow[tt] / 2 + dim), u1 = vh.get(vrow[tt + 2] / 2 + dim);
                            int u2 = vh.get(vrow[tt + 4] / 2 + dim), u3 = vh.get(vrow[tt + 6] / 2 + dim);
                            w0 = u0 & 0xffff; w1 = (u0 >> 16) & 0xffff; w2 = u1 & 0xffff; w3 = (u1 >> 16) & 0xffff;
                            w4 = u2 & 0xffff; w5 = (u2 >> 16) & 0xffff; w6 = u3 & 0xffff; w7 = (u3 >> 16) & 0xffff;
                        } else {
                            w0 = half(vh, vrow[tt] + 2 * dim); w1 = half(vh, vrow[tt + 1] + 2 * dim);
                            w2 = half(vh, vrow[tt + 2] + 2 * dim); w3 = half(vh, vrow[tt + 3] + 2 * dim);
                            w4 = half(vh, vrow[tt + 4] + 2 * dim); w5 = half(vh, vrow[tt + 5] + 2 * dim);
                            w6 = half(vh, vrow[tt + 6] + 2 * dim); w7 = half(vh, vrow[tt + 7] + 2 * dim);
                        }
                        v0 = decode(w0, pw[w0 >> mbits], mbits); v1 = decode(w1, pw[w1 >> mbits], mbits); v2 = decode(w2, pw[w2 >> mbits], mbits); v3 = decode(w3, pw[w3 >> mbits], mbits);
                        v4 = decode(w4, pw[w4 >> mbits], mbits); v5 = decode(w5, pw[w5 >> mbits], mbits); v6 = decode(w6, pw[w6 >> mbits], mbits); v7 = decode(w7, pw[w7 >> mbits], mbits);
                    }
                    a0 += dot8(pr[tt], pr[tt + 1], pr[tt + 2], pr[tt + 3], pr[tt + 4], pr[tt + 5], pr[tt + 6], pr[tt + 7], v0, v1, v2, v3, v4, v5, v6, v7);
                    int p1 = LOCAL + tt, p2 = 2 * LOCAL + tt, p3 = 3 * LOCAL + tt;
                    a1 += dot8(pr[p1], pr[p1 + 1], pr[p1 + 2], pr[p1 + 3], pr[p1 + 4], pr[p1 + 5], pr[p1 + 6], pr[p1 + 7], v0, v1, v2, v3, v4, v5, v6, v7);
                    a2 += dot8(pr[p2], pr[p2 + 1], pr[p2 + 2], pr[p2 + 3], pr[p2 + 4], pr[p2 + 5], pr[p2 + 6], pr[p2 + 7], v0, v1, v2, v3, v4, v5, v6, v7);
                    a3 += dot8(pr[p3], pr[p3 + 1], pr[p3 + 2], pr[p3 + 3], pr[p3 + 4], pr[p3 + 5], pr[p3 + 6], pr[p3 + 7], v0, v1, v2, v3, v4, v5, v6, v7);
                }
                for (; tt < n; tt++) {
                    float v;
                    if (mbits == 0) {
                        v = vf.get(vrow[tt] + dim);
                    } else if (nativeHalf == 1) {
                        v = vx.get(vrow[tt] + 2 * dim).getFloat32();
                    } else {
                        int w = half(vh, vrow[tt] + 2 * dim);
                        v = decode(w, pw[w >> mbits], mbits);
                    }
                    a0 += pr[tt] * v;
                    a1 += pr[LOCAL + tt] * v;
                    a2 += pr[2 * LOCAL + tt] * v;
                    a3 += pr[3 * LOCAL + tt] * v;
                }
                acc[dim] = acc[dim] * rescale(ml[0], mx[0]) + a0;
                acc[DMAX + dim] = acc[DMAX + dim] * rescale(ml[1], mx[LOCAL]) + a1;
                acc[2 * DMAX + dim] = acc[2 * DMAX + dim] * rescale(ml[2], mx[2 * LOCAL]) + a2;
                acc[3 * DMAX + dim] = acc[3 * DMAX + dim] * rescale(ml[3], mx[3 * LOCAL]) + a3;
            }
            ctx.localBarrier();
            if (lid < HEADS) {
                ml[HEADS + lid] = ml[HEADS + lid] * rescale(ml[lid], mx[lid * LOCAL]) + sm[lid * LOCAL];
                ml[lid] = TornadoMath.max(ml[lid], mx[lid * LOCAL]);
            }
            ctx.localBarrier();
        }
        for (int g = 0; g < heads; g++) {
            int at = ((x0 + g) * per + sp) * (d + 2);
            if (lid == 0) {
                partial.set(at, ml[g]);
                partial.set(at + 1, ml[HEADS + g]);
            }
            for (int dim = lid; dim < d; dim += LOCAL) partial.set(at + 2 + dim, acc[g * DMAX + dim]);
        }
    }

    /**
     * SPEC 1 and SPEC 3 for calls of many rows (prefill): as {@link #attend}, but a work-group serves a tile of rows of
     * one sequence (sparse: of one query block, so that they share its selection) times the query heads of a group,
     * {@link #SLOTS} query vectors in all: each number of a key or value is loaded twice (once for each half of the
     * slots) and feeds eight multiply-adds a load, where {@code attend} loads it for every four query vectors. Tile t of the call is {@code p[TILES_AT + 2t + 1]} rows
     * from row {@code p[TILES_AT + 2t]}; slot s is row {@code s / hs} of the tile and head {@code s % hs} of the
     * work-group's ({@code hs = min(HEADS, group)}, so a group of one or two heads takes more rows). The keys are those
     * any row of the tile sees (blocks up to the latest row's, a window from the earliest row's first token), and each
     * slot masks those its row does not see. Splits and partial states are {@link #attend}'s, so {@link #mergeSplits}
     * combines them alike. A chunk's softmax runs on {@link #PARTS} threads a slot, {@link #PART_KEYS} keys each: a
     * tree over all LOCAL threads would be SLOTS times seven barrier steps a chunk. Work-groups past the call's tiles
     * (a CUDA graph's fixed grid, or a call that runs {@link #attend}: TILES 0) have no rows and no keys, so every loop
     * runs zero times and nothing is written: no early return (PoCL, see {@link #attend}).
     */
    static void attendTile(KernelContext ctx, FloatArray q, FloatArray kf, FloatArray vf, IntArray kh, IntArray vh, HalfFloatArray kx,
                           HalfFloatArray vx, int nativeHalf, int mbits, int shapeB, int shapeD, int shapeHkv, IntArray p, FloatArray consts, IntArray sel, FloatArray partial, FloatArray stats) {
        float[] qs = ctx.allocateFloatLocalArray(SLOTS * DMAX);
        float[] acc = ctx.allocateFloatLocalArray(SLOTS * DMAX);
        float[] pr = ctx.allocateFloatLocalArray(SLOTS * LOCAL);
        float[] part = ctx.allocateFloatLocalArray(LOCAL);
        float[] top = ctx.allocateFloatLocalArray(LOCAL);
        // Per slot: running max, sum relative to it, this chunk's max, the factor that moves the state to the chunk's
        // reference, and that reference.
        float[] st = ctx.allocateFloatLocalArray(5 * SLOTS);
        // Per slot: the first and last position its row sees (last -1: an unused slot).
        int[] lim = ctx.allocateIntLocalArray(2 * SLOTS);
        int[] vrow = ctx.allocateIntLocalArray(LOCAL);
        int[] tblk = ctx.allocateIntLocalArray(LOCAL);
        int[] tpage = ctx.allocateIntLocalArray(LOCAL);
        float[] pw = ctx.allocateFloatLocalArray(TABLE_SIZE);
        int lid = ctx.localIdx;
        // The head dim stays the parameter's here (only the address arithmetic takes it compiled in): with a known trip
        // count the loops over the head dim were unrolled whole, twice the code, and the tiled kernel ran 20-45% slower
        // on PoCL (docs/adr/0007).
        int hq = p.get(HQ), hkv = shape(shapeHkv, p, HKV), d = p.get(DIM), b = shape(shapeB, p, BLOCK);
        int group = hq / hkv, groups = (group + HEADS - 1) / HEADS, hs = TornadoMath.min(HEADS, group);
        boolean oracle = p.get(MODE) == 0;
        int splits = p.get(SPLITS), per = oracle ? splits : splits + 1;
        int sp = ctx.groupIdx % per, unit = ctx.groupIdx / per;
        int hg = unit % groups, h = (unit / groups) % hkv, tile = unit / groups / hkv;
        int tiles = p.get(TILES);
        int r0 = tile < tiles ? p.get(p.get(TILES_AT) + 2 * tile) : 0, rows = tile < tiles ? p.get(p.get(TILES_AT) + 2 * tile + 1) : 0;
        int heads = TornadoMath.min(HEADS, group - hg * HEADS), x0 = h * group + hg * HEADS;
        boolean window = !oracle && sp == splits;
        int latest = -1, earliest = Integer.MAX_VALUE;
        for (int k = 0; k < rows; k++) {
            latest = TornadoMath.max(latest, p.get(PARAMS + r0 + k));
            earliest = TornadoMath.min(earliest, p.get(PARAMS + r0 + k));
        }
        for (int i = lid; i < SLOTS * d; i += LOCAL) {
            int s = i / d, e = i % d;
            boolean used = s / hs < rows && s % hs < heads;
            qs[s * DMAX + e] = used ? q.get(1 + ((r0 + s / hs) * hq + x0 + s % hs) * d + e) * q.get(0) : 0f;
            acc[s * DMAX + e] = 0f;
        }
        for (int i = lid; i < TABLE_SIZE; i += LOCAL) pw[i] = consts.get(TABLE + i);
        if (lid < SLOTS) {
            boolean used = lid / hs < rows && lid % hs < heads;
            int last = used ? p.get(PARAMS + r0 + lid / hs) : -1;
            lim[lid] = window ? TornadoMath.max(0, last - p.get(WINDOW) + 1) : 0;
            lim[SLOTS + lid] = last;
            st[lid] = Float.NEGATIVE_INFINITY;
            st[SLOTS + lid] = 0f;
        }
        // As attend's, for the tile's first row: its query block's list, its sequence's block table and window ring.
        int list = h * p.get(NQB) + p.get(p.get(ROW_QB_AT) + r0), listAt = oracle ? 0 : list * p.get(SEL_STRIDE);
        int tableAt = p.get(p.get(ROW_TABLE_AT) + r0), ringAt = p.get(ROW_RING_AT) + 2 * r0;
        int blocks = rows == 0 ? 0 : oracle ? latest / b + 1 : sel.get(p.get(COUNT_AT) + list);
        int share = (blocks + splits - 1) / splits;
        int c0 = sp * share, c1 = TornadoMath.min(blocks, c0 + share);
        int from = TornadoMath.max(0, earliest - p.get(WINDOW) + 1);
        int keys = window ? (p.get(WINDOW) > 0 && rows > 0 ? latest + 1 - from : 0) : TornadoMath.max(0, c1 - c0) * b;
        // Keys 2j and 2j + 1 share a 16-bit V word, except in a window starting at an odd position or of odd capacity.
        int unpaired = window ? (from | p.get(ringAt + 1)) & 1 : 0;
        // The oracle's chunk statistics are per segment of seg keys: pps consecutive parts of one slot.
        int seg = TornadoMath.min(b, LOCAL), pps = seg / PART_KEYS;
        // This thread's slot and keys in a chunk's softmax.
        int ms = lid / PARTS, kp = (lid % PARTS) * PART_KEYS;
        // This thread's side of the slots (SLOTS / 2 from sh; their queries from qh, probabilities from ph) and its keys
        // (kk, kk + HALF) or dimensions (2 kk, 2 kk + 1) in a chunk's logits and values.
        int side = lid / HALF, kk = lid % HALF, sh = side * (SLOTS / 2), qh = sh * DMAX, ph = sh * LOCAL;
        ctx.localBarrier();
        int wb = -LOCAL;
        for (int i0 = 0; i0 < keys; i0 += LOCAL) {
            if (!window && TornadoMath.min(c1 - c0 - 1, (i0 + LOCAL - 1) / b) >= wb + LOCAL) {
                wb = i0 / b;
                ctx.localBarrier();
                int cw = c0 + wb + lid;
                if (cw < c1) {
                    int bw = oracle ? cw : sel.get(listAt + cw);
                    tblk[lid] = bw;
                    tpage[lid] = p.get(tableAt + bw);
                }
                ctx.localBarrier();
            }
            // Logits: this thread's half of the slots (qh, 8 of them) against keys kk and kk + HALF of the chunk, so
            // each query number read from local memory feeds two multiply-adds (one key a thread and all SLOTS slots:
            // one read a multiply-add, and local-memory reads bound the kernel).
            int iA = i0 + kk, iB = i0 + kk + HALF;
            int posA, tA, posB, tB;
            if (window) {
                posA = from + iA;
                tA = p.get(ringAt) + posA % p.get(ringAt + 1);
                posB = from + iB;
                tB = p.get(ringAt) + posB % p.get(ringAt + 1);
            } else {
                int relA = TornadoMath.min(iA / b, c1 - c0 - 1) - wb, relB = TornadoMath.min(iB / b, c1 - c0 - 1) - wb;
                posA = tblk[relA] * b + iA % b;
                tA = tpage[relA] * b + iA % b;
                posB = tblk[relB] * b + iB % b;
                tB = tpage[relB] * b + iB % b;
            }
            int kAtA = keyAt(tA, h, 0, b, d, rowOf(shapeD, p), kPageOf(shapeB, shapeHkv, shapeD, mbits, p), mbits);
            int kAtB = keyAt(tB, h, 0, b, d, rowOf(shapeD, p), kPageOf(shapeB, shapeHkv, shapeD, mbits, p), mbits);
            vrow[lid] = valueAt(side == 0 ? tA : tB, h, 0, b, rowOf(shapeD, p), pageOf(shapeB, shapeHkv, shapeD, p), mbits);
            float la0 = 0f, la1 = 0f, la2 = 0f, la3 = 0f, la4 = 0f, la5 = 0f, la6 = 0f, la7 = 0f;
            float lb0 = 0f, lb1 = 0f, lb2 = 0f, lb3 = 0f, lb4 = 0f, lb5 = 0f, lb6 = 0f, lb7 = 0f;
            int e = 0;
            for (; e + 8 <= d; e += 8) {
                int atA = kAtA + e * b, atB = kAtB + e * b;
                float kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7;
                float kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7;
                if (mbits == 0) {
                    kA0 = kf.get(atA); kA1 = kf.get(atA + b); kA2 = kf.get(atA + 2 * b); kA3 = kf.get(atA + 3 * b);
                    kA4 = kf.get(atA + 4 * b); kA5 = kf.get(atA + 5 * b); kA6 = kf.get(atA + 6 * b); kA7 = kf.get(atA + 7 * b);
                } else if (nativeHalf == 1) {
                    kA0 = kx.get(atA).getFloat32(); kA1 = kx.get(atA + 1).getFloat32(); kA2 = kx.get(atA + 2 * b).getFloat32(); kA3 = kx.get(atA + 2 * b + 1).getFloat32();
                    kA4 = kx.get(atA + 4 * b).getFloat32(); kA5 = kx.get(atA + 4 * b + 1).getFloat32(); kA6 = kx.get(atA + 6 * b).getFloat32(); kA7 = kx.get(atA + 6 * b + 1).getFloat32();
                } else {
                    int kw = atA / 2;
                    int u0 = kh.get(kw), u1 = kh.get(kw + b), u2 = kh.get(kw + 2 * b), u3 = kh.get(kw + 3 * b);
                    int w0 = u0 & 0xffff, w1 = (u0 >> 16) & 0xffff, w2 = u1 & 0xffff, w3 = (u1 >> 16) & 0xffff;
                    int w4 = u2 & 0xffff, w5 = (u2 >> 16) & 0xffff, w6 = u3 & 0xffff, w7 = (u3 >> 16) & 0xffff;
                    kA0 = decode(w0, pw[w0 >> mbits], mbits); kA1 = decode(w1, pw[w1 >> mbits], mbits); kA2 = decode(w2, pw[w2 >> mbits], mbits); kA3 = decode(w3, pw[w3 >> mbits], mbits);
                    kA4 = decode(w4, pw[w4 >> mbits], mbits); kA5 = decode(w5, pw[w5 >> mbits], mbits); kA6 = decode(w6, pw[w6 >> mbits], mbits); kA7 = decode(w7, pw[w7 >> mbits], mbits);
                }
                if (mbits == 0) {
                    kB0 = kf.get(atB); kB1 = kf.get(atB + b); kB2 = kf.get(atB + 2 * b); kB3 = kf.get(atB + 3 * b);
                    kB4 = kf.get(atB + 4 * b); kB5 = kf.get(atB + 5 * b); kB6 = kf.get(atB + 6 * b); kB7 = kf.get(atB + 7 * b);
                } else if (nativeHalf == 1) {
                    kB0 = kx.get(atB).getFloat32(); kB1 = kx.get(atB + 1).getFloat32(); kB2 = kx.get(atB + 2 * b).getFloat32(); kB3 = kx.get(atB + 2 * b + 1).getFloat32();
                    kB4 = kx.get(atB + 4 * b).getFloat32(); kB5 = kx.get(atB + 4 * b + 1).getFloat32(); kB6 = kx.get(atB + 6 * b).getFloat32(); kB7 = kx.get(atB + 6 * b + 1).getFloat32();
                } else {
                    int kw = atB / 2;
                    int u0 = kh.get(kw), u1 = kh.get(kw + b), u2 = kh.get(kw + 2 * b), u3 = kh.get(kw + 3 * b);
                    int w0 = u0 & 0xffff, w1 = (u0 >> 16) & 0xffff, w2 = u1 & 0xffff, w3 = (u1 >> 16) & 0xffff;
                    int w4 = u2 & 0xffff, w5 = (u2 >> 16) & 0xffff, w6 = u3 & 0xffff, w7 = (u3 >> 16) & 0xffff;
                    kB0 = decode(w0, pw[w0 >> mbits], mbits); kB1 = decode(w1, pw[w1 >> mbits], mbits); kB2 = decode(w2, pw[w2 >> mbits], mbits); kB3 = decode(w3, pw[w3 >> mbits], mbits);
                    kB4 = decode(w4, pw[w4 >> mbits], mbits); kB5 = decode(w5, pw[w5 >> mbits], mbits); kB6 = decode(w6, pw[w6 >> mbits], mbits); kB7 = decode(w7, pw[w7 >> mbits], mbits);
                }
                la0 += dot8(qs[qh + e], qs[qh + e + 1], qs[qh + e + 2], qs[qh + e + 3], qs[qh + e + 4], qs[qh + e + 5], qs[qh + e + 6], qs[qh + e + 7], kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7);
                lb0 += dot8(qs[qh + e], qs[qh + e + 1], qs[qh + e + 2], qs[qh + e + 3], qs[qh + e + 4], qs[qh + e + 5], qs[qh + e + 6], qs[qh + e + 7], kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7);
                la1 += dot8(qs[qh + DMAX + e], qs[qh + DMAX + e + 1], qs[qh + DMAX + e + 2], qs[qh + DMAX + e + 3], qs[qh + DMAX + e + 4], qs[qh + DMAX + e + 5], qs[qh + DMAX + e + 6], qs[qh + DMAX + e + 7], kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7);
                lb1 += dot8(qs[qh + DMAX + e], qs[qh + DMAX + e + 1], qs[qh + DMAX + e + 2], qs[qh + DMAX + e + 3], qs[qh + DMAX + e + 4], qs[qh + DMAX + e + 5], qs[qh + DMAX + e + 6], qs[qh + DMAX + e + 7], kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7);
                la2 += dot8(qs[qh + 2 * DMAX + e], qs[qh + 2 * DMAX + e + 1], qs[qh + 2 * DMAX + e + 2], qs[qh + 2 * DMAX + e + 3], qs[qh + 2 * DMAX + e + 4], qs[qh + 2 * DMAX + e + 5], qs[qh + 2 * DMAX + e + 6], qs[qh + 2 * DMAX + e + 7], kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7);
                lb2 += dot8(qs[qh + 2 * DMAX + e], qs[qh + 2 * DMAX + e + 1], qs[qh + 2 * DMAX + e + 2], qs[qh + 2 * DMAX + e + 3], qs[qh + 2 * DMAX + e + 4], qs[qh + 2 * DMAX + e + 5], qs[qh + 2 * DMAX + e + 6], qs[qh + 2 * DMAX + e + 7], kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7);
                la3 += dot8(qs[qh + 3 * DMAX + e], qs[qh + 3 * DMAX + e + 1], qs[qh + 3 * DMAX + e + 2], qs[qh + 3 * DMAX + e + 3], qs[qh + 3 * DMAX + e + 4], qs[qh + 3 * DMAX + e + 5], qs[qh + 3 * DMAX + e + 6], qs[qh + 3 * DMAX + e + 7], kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7);
                lb3 += dot8(qs[qh + 3 * DMAX + e], qs[qh + 3 * DMAX + e + 1], qs[qh + 3 * DMAX + e + 2], qs[qh + 3 * DMAX + e + 3], qs[qh + 3 * DMAX + e + 4], qs[qh + 3 * DMAX + e + 5], qs[qh + 3 * DMAX + e + 6], qs[qh + 3 * DMAX + e + 7], kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7);
                la4 += dot8(qs[qh + 4 * DMAX + e], qs[qh + 4 * DMAX + e + 1], qs[qh + 4 * DMAX + e + 2], qs[qh + 4 * DMAX + e + 3], qs[qh + 4 * DMAX + e + 4], qs[qh + 4 * DMAX + e + 5], qs[qh + 4 * DMAX + e + 6], qs[qh + 4 * DMAX + e + 7], kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7);
                lb4 += dot8(qs[qh + 4 * DMAX + e], qs[qh + 4 * DMAX + e + 1], qs[qh + 4 * DMAX + e + 2], qs[qh + 4 * DMAX + e + 3], qs[qh + 4 * DMAX + e + 4], qs[qh + 4 * DMAX + e + 5], qs[qh + 4 * DMAX + e + 6], qs[qh + 4 * DMAX + e + 7], kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7);
                la5 += dot8(qs[qh + 5 * DMAX + e], qs[qh + 5 * DMAX + e + 1], qs[qh + 5 * DMAX + e + 2], qs[qh + 5 * DMAX + e + 3], qs[qh + 5 * DMAX + e + 4], qs[qh + 5 * DMAX + e + 5], qs[qh + 5 * DMAX + e + 6], qs[qh + 5 * DMAX + e + 7], kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7);
                lb5 += dot8(qs[qh + 5 * DMAX + e], qs[qh + 5 * DMAX + e + 1], qs[qh + 5 * DMAX + e + 2], qs[qh + 5 * DMAX + e + 3], qs[qh + 5 * DMAX + e + 4], qs[qh + 5 * DMAX + e + 5], qs[qh + 5 * DMAX + e + 6], qs[qh + 5 * DMAX + e + 7], kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7);
                la6 += dot8(qs[qh + 6 * DMAX + e], qs[qh + 6 * DMAX + e + 1], qs[qh + 6 * DMAX + e + 2], qs[qh + 6 * DMAX + e + 3], qs[qh + 6 * DMAX + e + 4], qs[qh + 6 * DMAX + e + 5], qs[qh + 6 * DMAX + e + 6], qs[qh + 6 * DMAX + e + 7], kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7);
                lb6 += dot8(qs[qh + 6 * DMAX + e], qs[qh + 6 * DMAX + e + 1], qs[qh + 6 * DMAX + e + 2], qs[qh + 6 * DMAX + e + 3], qs[qh + 6 * DMAX + e + 4], qs[qh + 6 * DMAX + e + 5], qs[qh + 6 * DMAX + e + 6], qs[qh + 6 * DMAX + e + 7], kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7);
                la7 += dot8(qs[qh + 7 * DMAX + e], qs[qh + 7 * DMAX + e + 1], qs[qh + 7 * DMAX + e + 2], qs[qh + 7 * DMAX + e + 3], qs[qh + 7 * DMAX + e + 4], qs[qh + 7 * DMAX + e + 5], qs[qh + 7 * DMAX + e + 6], qs[qh + 7 * DMAX + e + 7], kA0, kA1, kA2, kA3, kA4, kA5, kA6, kA7);
                lb7 += dot8(qs[qh + 7 * DMAX + e], qs[qh + 7 * DMAX + e + 1], qs[qh + 7 * DMAX + e + 2], qs[qh + 7 * DMAX + e + 3], qs[qh + 7 * DMAX + e + 4], qs[qh + 7 * DMAX + e + 5], qs[qh + 7 * DMAX + e + 6], qs[qh + 7 * DMAX + e + 7], kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7);
            }
            for (; e < d; e++) {
                float kA, kB;
                if (mbits == 0) {
                    kA = kf.get(kAtA + e * b);
                    kB = kf.get(kAtB + e * b);
                } else if (nativeHalf == 1) {
                    kA = kx.get(kAtA + (e / 2) * 2 * b + (e & 1)).getFloat32();
                    kB = kx.get(kAtB + (e / 2) * 2 * b + (e & 1)).getFloat32();
                } else {
                    int wA = half(kh, kAtA + (e / 2) * 2 * b + (e & 1)), wB = half(kh, kAtB + (e / 2) * 2 * b + (e & 1));
                    kA = decode(wA, pw[wA >> mbits], mbits);
                    kB = decode(wB, pw[wB >> mbits], mbits);
                }
                la0 += qs[qh + e] * kA;
                lb0 += qs[qh + e] * kB;
                la1 += qs[qh + DMAX + e] * kA;
                lb1 += qs[qh + DMAX + e] * kB;
                la2 += qs[qh + 2 * DMAX + e] * kA;
                lb2 += qs[qh + 2 * DMAX + e] * kB;
                la3 += qs[qh + 3 * DMAX + e] * kA;
                lb3 += qs[qh + 3 * DMAX + e] * kB;
                la4 += qs[qh + 4 * DMAX + e] * kA;
                lb4 += qs[qh + 4 * DMAX + e] * kB;
                la5 += qs[qh + 5 * DMAX + e] * kA;
                lb5 += qs[qh + 5 * DMAX + e] * kB;
                la6 += qs[qh + 6 * DMAX + e] * kA;
                lb6 += qs[qh + 6 * DMAX + e] * kB;
                la7 += qs[qh + 7 * DMAX + e] * kA;
                lb7 += qs[qh + 7 * DMAX + e] * kB;
            }
            float none = Float.NEGATIVE_INFINITY;
            boolean inA = iA < keys, inB = iB < keys;
            pr[ph + kk] = inA && posA >= lim[sh + 0] && posA <= lim[SLOTS + sh + 0] ? la0 : none;
            pr[ph + kk + HALF] = inB && posB >= lim[sh + 0] && posB <= lim[SLOTS + sh + 0] ? lb0 : none;
            pr[ph + LOCAL + kk] = inA && posA >= lim[sh + 1] && posA <= lim[SLOTS + sh + 1] ? la1 : none;
            pr[ph + LOCAL + kk + HALF] = inB && posB >= lim[sh + 1] && posB <= lim[SLOTS + sh + 1] ? lb1 : none;
            pr[ph + 2 * LOCAL + kk] = inA && posA >= lim[sh + 2] && posA <= lim[SLOTS + sh + 2] ? la2 : none;
            pr[ph + 2 * LOCAL + kk + HALF] = inB && posB >= lim[sh + 2] && posB <= lim[SLOTS + sh + 2] ? lb2 : none;
            pr[ph + 3 * LOCAL + kk] = inA && posA >= lim[sh + 3] && posA <= lim[SLOTS + sh + 3] ? la3 : none;
            pr[ph + 3 * LOCAL + kk + HALF] = inB && posB >= lim[sh + 3] && posB <= lim[SLOTS + sh + 3] ? lb3 : none;
            pr[ph + 4 * LOCAL + kk] = inA && posA >= lim[sh + 4] && posA <= lim[SLOTS + sh + 4] ? la4 : none;
            pr[ph + 4 * LOCAL + kk + HALF] = inB && posB >= lim[sh + 4] && posB <= lim[SLOTS + sh + 4] ? lb4 : none;
            pr[ph + 5 * LOCAL + kk] = inA && posA >= lim[sh + 5] && posA <= lim[SLOTS + sh + 5] ? la5 : none;
            pr[ph + 5 * LOCAL + kk + HALF] = inB && posB >= lim[sh + 5] && posB <= lim[SLOTS + sh + 5] ? lb5 : none;
            pr[ph + 6 * LOCAL + kk] = inA && posA >= lim[sh + 6] && posA <= lim[SLOTS + sh + 6] ? la6 : none;
            pr[ph + 6 * LOCAL + kk + HALF] = inB && posB >= lim[sh + 6] && posB <= lim[SLOTS + sh + 6] ? lb6 : none;
            pr[ph + 7 * LOCAL + kk] = inA && posA >= lim[sh + 7] && posA <= lim[SLOTS + sh + 7] ? la7 : none;
            pr[ph + 7 * LOCAL + kk + HALF] = inB && posB >= lim[sh + 7] && posB <= lim[SLOTS + sh + 7] ? lb7 : none;
            ctx.localBarrier();
            // The chunk's softmax: this thread's PART_KEYS keys of slot ms, the slot's max over its PARTS threads.
            float cmax = none;
            for (int k = 0; k < PART_KEYS; k++) cmax = TornadoMath.max(cmax, pr[ms * LOCAL + kp + k]);
            part[lid] = cmax;
            ctx.localBarrier();
            for (int k = 0; k < PARTS; k++) cmax = TornadoMath.max(cmax, part[ms * PARTS + k]);
            float ref = reference(st[ms], cmax), sum = 0f, peak = 0f;
            for (int k = 0; k < PART_KEYS; k++) {
                float logit = pr[ms * LOCAL + kp + k];
                float x = logit == none ? 0f : TornadoMath.exp(logit - ref);
                pr[ms * LOCAL + kp + k] = x;
                sum += x;
                peak = TornadoMath.max(peak, x);
            }
            ctx.localBarrier();
            part[lid] = sum;
            top[lid] = peak;
            if (lid % PARTS == 0) {
                st[2 * SLOTS + ms] = cmax;
                st[4 * SLOTS + ms] = ref;
            }
            ctx.localBarrier();
            // The oracle's statistics of each segment (its chunk's reference, its sum and largest exponential), as attend's:
            // thread lid takes segment lid of the chunk, slot by slot. A loop over the slots with the slot's own test, as
            // for the partial states below: stores guarded by this thread's own slot (ms) reached unused slots on PoCL.
            for (int s = 0; oracle && s < SLOTS; s++) {
                if (lid < LOCAL / seg && s / hs < rows && s % hs < heads && i0 + lid * seg < keys) {
                    float segSum = 0f, segTop = 0f;
                    for (int k = 0; k < pps; k++) {
                        segSum += part[s * PARTS + lid * pps + k];
                        segTop = TornadoMath.max(segTop, top[s * PARTS + lid * pps + k]);
                    }
                    int at = (((r0 + s / hs) * hq + x0 + s % hs) * p.get(CHUNK_STRIDE) + (c0 * b + i0) / seg + lid) * STAT;
                    stats.set(at, st[4 * SLOTS + s]);
                    stats.set(at + 1, segSum);
                    stats.set(at + 2, segTop);
                }
            }
            if (lid < SLOTS) {
                float chunkSum = 0f;
                for (int k = 0; k < PARTS; k++) chunkSum += part[lid * PARTS + k];
                float f = rescale(st[lid], st[2 * SLOTS + lid]);
                st[3 * SLOTS + lid] = f;
                st[SLOTS + lid] = st[SLOTS + lid] * f + chunkSum;
                st[lid] = TornadoMath.max(st[lid], st[2 * SLOTS + lid]);
            }
            ctx.localBarrier();
            int n = TornadoMath.min(LOCAL, keys - i0);
            // Values: this thread's half of the slots against dimensions dim and dim + 1 (the second clamped into the row
            // for an odd D, and not stored), so each probability read from local memory feeds two multiply-adds.
            for (int dim = 2 * kk; dim < d; dim += LOCAL) {
                int dim1 = TornadoMath.min(dim + 1, d - 1);
                float va0 = 0f, va1 = 0f, va2 = 0f, va3 = 0f, va4 = 0f, va5 = 0f, va6 = 0f, va7 = 0f;
                float vb0 = 0f, vb1 = 0f, vb2 = 0f, vb3 = 0f, vb4 = 0f, vb5 = 0f, vb6 = 0f, vb7 = 0f;
                int tt = 0;
                for (; tt + 8 <= n; tt += 8) {
                    float v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x;
                    float v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y;
                    if (mbits == 0) {
                        v0x = vf.get(vrow[tt] + dim); v1x = vf.get(vrow[tt + 1] + dim); v2x = vf.get(vrow[tt + 2] + dim); v3x = vf.get(vrow[tt + 3] + dim);
                        v4x = vf.get(vrow[tt + 4] + dim); v5x = vf.get(vrow[tt + 5] + dim); v6x = vf.get(vrow[tt + 6] + dim); v7x = vf.get(vrow[tt + 7] + dim);
                    } else if (nativeHalf == 1) {
                        v0x = vx.get(vrow[tt] + 2 * dim).getFloat32(); v1x = vx.get(vrow[tt + 1] + 2 * dim).getFloat32();
                        v2x = vx.get(vrow[tt + 2] + 2 * dim).getFloat32(); v3x = vx.get(vrow[tt + 3] + 2 * dim).getFloat32();
                        v4x = vx.get(vrow[tt + 4] + 2 * dim).getFloat32(); v5x = vx.get(vrow[tt + 5] + 2 * dim).getFloat32();
                        v6x = vx.get(vrow[tt + 6] + 2 * dim).getFloat32(); v7x = vx.get(vrow[tt + 7] + 2 * dim).getFloat32();
                    } else {
                        int w0, w1, w2, w3, w4, w5, w6, w7;
                        if (unpaired == 0) {
                            int u0 = vh.get(vrow[tt] / 2 + dim), u1 = vh.get(vrow[tt + 2] / 2 + dim);
                            int u2 = vh.get(vrow[tt + 4] / 2 + dim), u3 = vh.get(vrow[tt + 6] / 2 + dim);
                            w0 = u0 & 0xffff; w1 = (u0 >> 16) & 0xffff; w2 = u1 & 0xffff; w3 = (u1 >> 16) & 0xffff;
                            w4 = u2 & 0xffff; w5 = (u2 >> 16) & 0xffff; w6 = u3 & 0xffff; w7 = (u3 >> 16) & 0xffff;
                        } else {
                            w0 = half(vh, vrow[tt] + 2 * dim); w1 = half(vh, vrow[tt + 1] + 2 * dim);
                            w2 = half(vh, vrow[tt + 2] + 2 * dim); w3 = half(vh, vrow[tt + 3] + 2 * dim);
                            w4 = half(vh, vrow[tt + 4] + 2 * dim); w5 = half(vh, vrow[tt + 5] + 2 * dim);
                            w6 = half(vh, vrow[tt + 6] + 2 * dim); w7 = half(vh, vrow[tt + 7] + 2 * dim);
                        }
                        v0x = decode(w0, pw[w0 >> mbits], mbits); v1x = decode(w1, pw[w1 >> mbits], mbits); v2x = decode(w2, pw[w2 >> mbits], mbits); v3x = decode(w3, pw[w3 >> mbits], mbits);
                        v4x = decode(w4, pw[w4 >> mbits], mbits); v5x = decode(w5, pw[w5 >> mbits], mbits); v6x = decode(w6, pw[w6 >> mbits], mbits); v7x = decode(w7, pw[w7 >> mbits], mbits);
                    }
                    if (mbits == 0) {
                        v0y = vf.get(vrow[tt] + dim1); v1y = vf.get(vrow[tt + 1] + dim1); v2y = vf.get(vrow[tt + 2] + dim1); v3y = vf.get(vrow[tt + 3] + dim1);
                        v4y = vf.get(vrow[tt + 4] + dim1); v5y = vf.get(vrow[tt + 5] + dim1); v6y = vf.get(vrow[tt + 6] + dim1); v7y = vf.get(vrow[tt + 7] + dim1);
                    } else if (nativeHalf == 1) {
                        v0y = vx.get(vrow[tt] + 2 * dim1).getFloat32(); v1y = vx.get(vrow[tt + 1] + 2 * dim1).getFloat32();
                        v2y = vx.get(vrow[tt + 2] + 2 * dim1).getFloat32(); v3y = vx.get(vrow[tt + 3] + 2 * dim1).getFloat32();
                        v4y = vx.get(vrow[tt + 4] + 2 * dim1).getFloat32(); v5y = vx.get(vrow[tt + 5] + 2 * dim1).getFloat32();
                        v6y = vx.get(vrow[tt + 6] + 2 * dim1).getFloat32(); v7y = vx.get(vrow[tt + 7] + 2 * dim1).getFloat32();
                    } else {
                        int w0, w1, w2, w3, w4, w5, w6, w7;
                        if (unpaired == 0) {
                            int u0 = vh.get(vrow[tt] / 2 + dim1), u1 = vh.get(vrow[tt + 2] / 2 + dim1);
                            int u2 = vh.get(vrow[tt + 4] / 2 + dim1), u3 = vh.get(vrow[tt + 6] / 2 + dim1);
                            w0 = u0 & 0xffff; w1 = (u0 >> 16) & 0xffff; w2 = u1 & 0xffff; w3 = (u1 >> 16) & 0xffff;
                            w4 = u2 & 0xffff; w5 = (u2 >> 16) & 0xffff; w6 = u3 & 0xffff; w7 = (u3 >> 16) & 0xffff;
                        } else {
                            w0 = half(vh, vrow[tt] + 2 * dim1); w1 = half(vh, vrow[tt + 1] + 2 * dim1);
                            w2 = half(vh, vrow[tt + 2] + 2 * dim1); w3 = half(vh, vrow[tt + 3] + 2 * dim1);
                            w4 = half(vh, vrow[tt + 4] + 2 * dim1); w5 = half(vh, vrow[tt + 5] + 2 * dim1);
                            w6 = half(vh, vrow[tt + 6] + 2 * dim1); w7 = half(vh, vrow[tt + 7] + 2 * dim1);
                        }
                        v0y = decode(w0, pw[w0 >> mbits], mbits); v1y = decode(w1, pw[w1 >> mbits], mbits); v2y = decode(w2, pw[w2 >> mbits], mbits); v3y = decode(w3, pw[w3 >> mbits], mbits);
                        v4y = decode(w4, pw[w4 >> mbits], mbits); v5y = decode(w5, pw[w5 >> mbits], mbits); v6y = decode(w6, pw[w6 >> mbits], mbits); v7y = decode(w7, pw[w7 >> mbits], mbits);
                    }
                    va0 += dot8(pr[ph + tt], pr[ph + tt + 1], pr[ph + tt + 2], pr[ph + tt + 3], pr[ph + tt + 4], pr[ph + tt + 5], pr[ph + tt + 6], pr[ph + tt + 7], v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x);
                    vb0 += dot8(pr[ph + tt], pr[ph + tt + 1], pr[ph + tt + 2], pr[ph + tt + 3], pr[ph + tt + 4], pr[ph + tt + 5], pr[ph + tt + 6], pr[ph + tt + 7], v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y);
                    va1 += dot8(pr[ph + LOCAL + tt], pr[ph + LOCAL + tt + 1], pr[ph + LOCAL + tt + 2], pr[ph + LOCAL + tt + 3], pr[ph + LOCAL + tt + 4], pr[ph + LOCAL + tt + 5], pr[ph + LOCAL + tt + 6], pr[ph + LOCAL + tt + 7], v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x);
                    vb1 += dot8(pr[ph + LOCAL + tt], pr[ph + LOCAL + tt + 1], pr[ph + LOCAL + tt + 2], pr[ph + LOCAL + tt + 3], pr[ph + LOCAL + tt + 4], pr[ph + LOCAL + tt + 5], pr[ph + LOCAL + tt + 6], pr[ph + LOCAL + tt + 7], v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y);
                    va2 += dot8(pr[ph + 2 * LOCAL + tt], pr[ph + 2 * LOCAL + tt + 1], pr[ph + 2 * LOCAL + tt + 2], pr[ph + 2 * LOCAL + tt + 3], pr[ph + 2 * LOCAL + tt + 4], pr[ph + 2 * LOCAL + tt + 5], pr[ph + 2 * LOCAL + tt + 6], pr[ph + 2 * LOCAL + tt + 7], v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x);
                    vb2 += dot8(pr[ph + 2 * LOCAL + tt], pr[ph + 2 * LOCAL + tt + 1], pr[ph + 2 * LOCAL + tt + 2], pr[ph + 2 * LOCAL + tt + 3], pr[ph + 2 * LOCAL + tt + 4], pr[ph + 2 * LOCAL + tt + 5], pr[ph + 2 * LOCAL + tt + 6], pr[ph + 2 * LOCAL + tt + 7], v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y);
                    va3 += dot8(pr[ph + 3 * LOCAL + tt], pr[ph + 3 * LOCAL + tt + 1], pr[ph + 3 * LOCAL + tt + 2], pr[ph + 3 * LOCAL + tt + 3], pr[ph + 3 * LOCAL + tt + 4], pr[ph + 3 * LOCAL + tt + 5], pr[ph + 3 * LOCAL + tt + 6], pr[ph + 3 * LOCAL + tt + 7], v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x);
                    vb3 += dot8(pr[ph + 3 * LOCAL + tt], pr[ph + 3 * LOCAL + tt + 1], pr[ph + 3 * LOCAL + tt + 2], pr[ph + 3 * LOCAL + tt + 3], pr[ph + 3 * LOCAL + tt + 4], pr[ph + 3 * LOCAL + tt + 5], pr[ph + 3 * LOCAL + tt + 6], pr[ph + 3 * LOCAL + tt + 7], v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y);
                    va4 += dot8(pr[ph + 4 * LOCAL + tt], pr[ph + 4 * LOCAL + tt + 1], pr[ph + 4 * LOCAL + tt + 2], pr[ph + 4 * LOCAL + tt + 3], pr[ph + 4 * LOCAL + tt + 4], pr[ph + 4 * LOCAL + tt + 5], pr[ph + 4 * LOCAL + tt + 6], pr[ph + 4 * LOCAL + tt + 7], v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x);
                    vb4 += dot8(pr[ph + 4 * LOCAL + tt], pr[ph + 4 * LOCAL + tt + 1], pr[ph + 4 * LOCAL + tt + 2], pr[ph + 4 * LOCAL + tt + 3], pr[ph + 4 * LOCAL + tt + 4], pr[ph + 4 * LOCAL + tt + 5], pr[ph + 4 * LOCAL + tt + 6], pr[ph + 4 * LOCAL + tt + 7], v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y);
                    va5 += dot8(pr[ph + 5 * LOCAL + tt], pr[ph + 5 * LOCAL + tt + 1], pr[ph + 5 * LOCAL + tt + 2], pr[ph + 5 * LOCAL + tt + 3], pr[ph + 5 * LOCAL + tt + 4], pr[ph + 5 * LOCAL + tt + 5], pr[ph + 5 * LOCAL + tt + 6], pr[ph + 5 * LOCAL + tt + 7], v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x);
                    vb5 += dot8(pr[ph + 5 * LOCAL + tt], pr[ph + 5 * LOCAL + tt + 1], pr[ph + 5 * LOCAL + tt + 2], pr[ph + 5 * LOCAL + tt + 3], pr[ph + 5 * LOCAL + tt + 4], pr[ph + 5 * LOCAL + tt + 5], pr[ph + 5 * LOCAL + tt + 6], pr[ph + 5 * LOCAL + tt + 7], v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y);
                    va6 += dot8(pr[ph + 6 * LOCAL + tt], pr[ph + 6 * LOCAL + tt + 1], pr[ph + 6 * LOCAL + tt + 2], pr[ph + 6 * LOCAL + tt + 3], pr[ph + 6 * LOCAL + tt + 4], pr[ph + 6 * LOCAL + tt + 5], pr[ph + 6 * LOCAL + tt + 6], pr[ph + 6 * LOCAL + tt + 7], v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x);
                    vb6 += dot8(pr[ph + 6 * LOCAL + tt], pr[ph + 6 * LOCAL + tt + 1], pr[ph + 6 * LOCAL + tt + 2], pr[ph + 6 * LOCAL + tt + 3], pr[ph + 6 * LOCAL + tt + 4], pr[ph + 6 * LOCAL + tt + 5], pr[ph + 6 * LOCAL + tt + 6], pr[ph + 6 * LOCAL + tt + 7], v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y);
                    va7 += dot8(pr[ph + 7 * LOCAL + tt], pr[ph + 7 * LOCAL + tt + 1], pr[ph + 7 * LOCAL + tt + 2], pr[ph + 7 * LOCAL + tt + 3], pr[ph + 7 * LOCAL + tt + 4], pr[ph + 7 * LOCAL + tt + 5], pr[ph + 7 * LOCAL + tt + 6], pr[ph + 7 * LOCAL + tt + 7], v0x, v1x, v2x, v3x, v4x, v5x, v6x, v7x);
                    vb7 += dot8(pr[ph + 7 * LOCAL + tt], pr[ph + 7 * LOCAL + tt + 1], pr[ph + 7 * LOCAL + tt + 2], pr[ph + 7 * LOCAL + tt + 3], pr[ph + 7 * LOCAL + tt + 4], pr[ph + 7 * LOCAL + tt + 5], pr[ph + 7 * LOCAL + tt + 6], pr[ph + 7 * LOCAL + tt + 7], v0y, v1y, v2y, v3y, v4y, v5y, v6y, v7y);
                }
                for (; tt < n; tt++) {
                    float px, py;
                    if (mbits == 0) {
                        px = vf.get(vrow[tt] + dim);
                        py = vf.get(vrow[tt] + dim1);
                    } else if (nativeHalf == 1) {
                        px = vx.get(vrow[tt] + 2 * dim).getFloat32();
                        py = vx.get(vrow[tt] + 2 * dim1).getFloat32();
                    } else {
                        int wx = half(vh, vrow[tt] + 2 * dim), wy = half(vh, vrow[tt] + 2 * dim1);
                        px = decode(wx, pw[wx >> mbits], mbits);
                        py = decode(wy, pw[wy >> mbits], mbits);
                    }
                    va0 += pr[ph + tt] * px;
                    vb0 += pr[ph + tt] * py;
                    va1 += pr[ph + LOCAL + tt] * px;
                    vb1 += pr[ph + LOCAL + tt] * py;
                    va2 += pr[ph + 2 * LOCAL + tt] * px;
                    vb2 += pr[ph + 2 * LOCAL + tt] * py;
                    va3 += pr[ph + 3 * LOCAL + tt] * px;
                    vb3 += pr[ph + 3 * LOCAL + tt] * py;
                    va4 += pr[ph + 4 * LOCAL + tt] * px;
                    vb4 += pr[ph + 4 * LOCAL + tt] * py;
                    va5 += pr[ph + 5 * LOCAL + tt] * px;
                    vb5 += pr[ph + 5 * LOCAL + tt] * py;
                    va6 += pr[ph + 6 * LOCAL + tt] * px;
                    vb6 += pr[ph + 6 * LOCAL + tt] * py;
                    va7 += pr[ph + 7 * LOCAL + tt] * px;
                    vb7 += pr[ph + 7 * LOCAL + tt] * py;
                }
                acc[qh + dim] = acc[qh + dim] * st[3 * SLOTS + sh + 0] + va0;
                acc[qh + DMAX + dim] = acc[qh + DMAX + dim] * st[3 * SLOTS + sh + 1] + va1;
                acc[qh + 2 * DMAX + dim] = acc[qh + 2 * DMAX + dim] * st[3 * SLOTS + sh + 2] + va2;
                acc[qh + 3 * DMAX + dim] = acc[qh + 3 * DMAX + dim] * st[3 * SLOTS + sh + 3] + va3;
                acc[qh + 4 * DMAX + dim] = acc[qh + 4 * DMAX + dim] * st[3 * SLOTS + sh + 4] + va4;
                acc[qh + 5 * DMAX + dim] = acc[qh + 5 * DMAX + dim] * st[3 * SLOTS + sh + 5] + va5;
                acc[qh + 6 * DMAX + dim] = acc[qh + 6 * DMAX + dim] * st[3 * SLOTS + sh + 6] + va6;
                acc[qh + 7 * DMAX + dim] = acc[qh + 7 * DMAX + dim] * st[3 * SLOTS + sh + 7] + va7;
                if (dim + 1 < d) {
                    acc[qh + dim + 1] = acc[qh + dim + 1] * st[3 * SLOTS + sh + 0] + vb0;
                    acc[qh + DMAX + dim + 1] = acc[qh + DMAX + dim + 1] * st[3 * SLOTS + sh + 1] + vb1;
                    acc[qh + 2 * DMAX + dim + 1] = acc[qh + 2 * DMAX + dim + 1] * st[3 * SLOTS + sh + 2] + vb2;
                    acc[qh + 3 * DMAX + dim + 1] = acc[qh + 3 * DMAX + dim + 1] * st[3 * SLOTS + sh + 3] + vb3;
                    acc[qh + 4 * DMAX + dim + 1] = acc[qh + 4 * DMAX + dim + 1] * st[3 * SLOTS + sh + 4] + vb4;
                    acc[qh + 5 * DMAX + dim + 1] = acc[qh + 5 * DMAX + dim + 1] * st[3 * SLOTS + sh + 5] + vb5;
                    acc[qh + 6 * DMAX + dim + 1] = acc[qh + 6 * DMAX + dim + 1] * st[3 * SLOTS + sh + 6] + vb6;
                    acc[qh + 7 * DMAX + dim + 1] = acc[qh + 7 * DMAX + dim + 1] * st[3 * SLOTS + sh + 7] + vb7;
                }
            }
            ctx.localBarrier();
        }
        for (int s = 0; s < SLOTS; s++) {
            if (s / hs < rows && s % hs < heads) {
                int at = (((r0 + s / hs) * hq + x0 + s % hs) * per + sp) * (d + 2);
                if (lid == 0) {
                    partial.set(at, st[s]);
                    partial.set(at + 1, st[SLOTS + s]);
                }
                for (int dim = lid; dim < d; dim += LOCAL) partial.set(at + 2 + dim, acc[s * DMAX + dim]);
            }
        }
    }

    /**
     * Eight products summed in pairs: every eight-wide step of the attention and merge kernels. A tree, not a chain.
     * Chaining the products into the caller's accumulator (one fused multiply-add each, 17% fewer instructions in
     * attend's loops, 104 registers instead of 128) let ptxas spread the 32 key loads of a step among the multiply-adds
     * instead of issuing them all first: fewer loads in flight, and the dense decode got slower (so did two chains of
     * four; docs/measurements/2026-12-05-h100-dot8.md). The pairs keep every load ahead of its first use.
     */
    private static float dot8(float x0, float x1, float x2, float x3, float x4, float x5, float x6, float x7,
                              float y0, float y1, float y2, float y3, float y4, float y5, float y6, float y7) {
        return ((x0 * y0 + x1 * y1) + (x2 * y2 + x3 * y3)) + ((x4 * y4 + x5 * y5) + (x6 * y6 + x7 * y7));
    }

    /** The exponent base of a chunk: the new running max, or 0 while every logit so far is -inf. */
    static float reference(float m, float chunkMax) {
        float mNew = TornadoMath.max(m, chunkMax);
        return mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
    }

    /**
     * One over a softmax denominator kept as (max m, sum l relative to m), with a sink logit (SPEC 3; -infinity for
     * none) as one more term: {@code e^(m - t) / (l e^(m - t) + e^(sink - t))}, {@code t = max(m, sink)}, so neither
     * exponent overflows; 0 when no key was seen.
     */
    private static float normalizer(float m, float l, float sink) {
        float top = TornadoMath.max(m, sink);
        float em = l > 0f ? TornadoMath.exp(m - top) : 0f;
        float es = sink == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(sink - top);
        return l > 0f ? em / (l * em + es) : 0f;
    }

    /** The factor that moves state kept under running max m to the chunk's reference. */
    static float rescale(float m, float chunkMax) {
        return m == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(m - reference(m, chunkMax));
    }

    /**
     * SPEC 2's ranking for one (KV head, query block) per work-group: forced blocks first, then up to the budget
     * the best unflagged block by (S descending, index ascending), in order of choice. The host applies a mass
     * target to this order (in doubles, as the reference does) and sorts the result. Thread lid owns the blocks
     * j = lid (mod LOCAL) and keeps its best unflagged one, so a round is one argmax tree over the threads' bests
     * and one rescan by the owner of the block taken (one thread serially scanning the whole list per round took
     * milliseconds at long contexts). Query block qb's visible blocks are at {@code p[PARAMS + qb]}; the list's
     * length goes to {@code sel[COUNT_AT + list]}. An oracle graph of decode size runs it right after
     * {@link #mergeSplits}, on S where that kernel left it, for {@code TornadoBackend.oracleAndSelect}.
     */
    static void rankBlocks(KernelContext ctx, FloatArray s, IntArray p, IntArray flags, IntArray sel) {
        float[] bestS = ctx.allocateFloatLocalArray(LOCAL);
        int[] best = ctx.allocateIntLocalArray(LOCAL);
        int lid = ctx.localIdx, list = ctx.groupIdx;
        int nqb = p.get(NQB), nb = p.get(NB_STRIDE), cap = p.get(SEL_STRIDE);
        // Work-groups past the call's lists (a fixed grid under a CUDA graph) see no blocks.
        int visible = list < p.get(HKV) * nqb ? p.get(PARAMS + list % nqb) : 0;
        int budget = TornadoMath.min(p.get(BUDGET), visible);
        // S from SCORES_AT of s: 0 for the select plan's own array, after the outputs in an oracle graph's (see mergeSplits).
        int base = list * nb, out = list * cap, sAt = p.get(SCORES_AT) + base;
        for (int j = lid; j < visible; j += LOCAL) flags.set(base + j, 0);
        ctx.globalBarrier();
        int forced = 0;
        if (p.get(SINK) == 1 && visible > 0 && budget > 0) forced = 1;
        if (lid == 0) {
            if (forced == 1) {
                flags.set(base, 1);
                sel.set(out, 0);
            }
            int n = forced;
            for (int l = 0; l < p.get(LOCAL_BLOCKS) && visible - 1 - l >= 0 && n < budget; l++) {
                if (flags.get(base + visible - 1 - l) == 0) {
                    flags.set(base + visible - 1 - l, 1);
                    sel.set(out + n, visible - 1 - l);
                    n++;
                }
            }
            best[0] = n;
        }
        ctx.globalBarrier();
        ctx.localBarrier();
        forced = best[0];
        ctx.localBarrier();
        int mine = -1;
        float mineS = -1f;
        for (int j = lid; j < visible; j += LOCAL) {
            float sj = s.get(sAt + j);
            if (flags.get(base + j) == 0 && sj > mineS) {
                mine = j;
                mineS = sj;
            }
        }
        for (int r = forced; r < budget; r++) {
            bestS[lid] = mineS;
            best[lid] = mine;
            ctx.localBarrier();
            for (int w = LOCAL / 2; w > 0; w >>= 1) {
                if (lid < w) {
                    float o = bestS[lid + w];
                    int oi = best[lid + w];
                    if (oi >= 0 && (best[lid] < 0 || o > bestS[lid] || (o == bestS[lid] && oi < best[lid]))) {
                        bestS[lid] = o;
                        best[lid] = oi;
                    }
                }
                ctx.localBarrier();
            }
            int taken = best[0];
            if (lid == 0) sel.set(out + r, taken);
            if (taken % LOCAL == lid) {
                flags.set(base + taken, 1);
                mine = -1;
                mineS = -1f;
                for (int j = lid; j < visible; j += LOCAL) {
                    float sj = s.get(sAt + j);
                    if (flags.get(base + j) == 0 && sj > mineS) {
                        mine = j;
                        mineS = sj;
                    }
                }
            }
            ctx.localBarrier();
        }
        if (lid == 0) sel.set(p.get(COUNT_AT) + list, budget);
    }

    /**
     * Combines split partial states: for query vector x, global max M, sum L = sum l_s e^(m_s - M) and accumulator
     * likewise; a sink logit joins L (see {@link #normalizer}: head g's at {@code q[SINKS_AT + g]} for the oracle,
     * {@code q[SINKS_AT + 2g]} and {@code + 1} for the sparse branches, -infinity for none). Work-group x < {@code VECTORS}
     * merges vector x: the oracle ({@code MODE} 0) writes its output; sparse writes gateSel (.) (the selected splits,
     * combined) + gateSwa (.) (the window partial, split {@code SPLITS}), each gate per head or per channel
     * ({@code GATE_SEL_W}, {@code GATE_SWA_W}: 1 or D values a vector, from {@code GATES_AT} and {@code GATES_SWA_AT}).
     * The oracle's further work-groups each score {@link #LOCAL} blocks j of one (KV head h, query block qb):
     * S[h][qb][j], written after the outputs ({@code SCORES_AT}), is the largest mass ({@code SCORE_MODE} mass) or the
     * largest single probability (max) any row of qb and any head of h's group has in block j, each vector's
     * following from the chunk statistics under its M and L (masses also kept in {@code masses} for SPEC 5). One
     * kernel for both, so that a decode step pays one launch less (TornadoVM 5.2 waits for each kernel before
     * launching the next); the blocks' scores spread over many work-groups (one thread walking its vector's blocks
     * after the merge made this kernel the slow part of a long-context call). Thread s < SPLITS (at most
     * {@link #LOCAL}) reads split s's max and sum, so M and L are two trees; query block qb's rows are
     * {@code p[STARTS + qb] .. p[STARTS + qb + 1] - 1}.
     */
    static void mergeSplits(KernelContext ctx, FloatArray partial, FloatArray stats, IntArray p, FloatArray q, FloatArray out,
                            FloatArray masses) {
        float[] wm = ctx.allocateFloatLocalArray(LOCAL);
        float[] wl = ctx.allocateFloatLocalArray(LOCAL);
        int x = ctx.groupIdx;
        int lid = ctx.localIdx;
        boolean oracle = p.get(MODE) == 0;
        int splits = p.get(SPLITS), d = p.get(DIM), hq = p.get(HQ), vectors = p.get(VECTORS);
        int per = oracle ? splits : splits + 1;
        int b = p.get(BLOCK), nb = (p.get(TOKENS) + b - 1) / b, tiles = (nb + LOCAL - 1) / LOCAL;
        boolean merging = x < vectors;
        // The vectors this work-group combines: rows r0 .. r1 - 1, heads g0 .. g1 - 1 of each.
        int r0 = x / hq, r1 = r0 + 1, g0 = x % hq, g1 = g0 + 1;
        int h = 0, qb = 0, j = lid;
        if (!merging) {
            int id = x - vectors, nqb = p.get(NQB), group = hq / p.get(HKV);
            j = (id % tiles) * LOCAL + lid;
            qb = (id / tiles) % nqb;
            h = id / tiles / nqb;
            r0 = p.get(p.get(STARTS) + qb);
            r1 = p.get(p.get(STARTS) + qb + 1);
            g0 = h * group;
            g1 = g0 + group;
        }
        // Work-groups past this call's vectors and score tiles (a CUDA graph keeps the grid its plan was captured with),
        // and in a sparse call all past its vectors, do nothing.
        boolean scoring = !merging && oracle && h < p.get(HKV);
        if (!merging && !scoring) r1 = r0;
        int cpb = (b + LOCAL - 1) / LOCAL, stride = p.get(CHUNK_STRIDE), nbStride = p.get(NB_STRIDE);
        float best = 0f;
        for (int r = r0; r < r1; r++) {
            int last = p.get(PARAMS + r);
            for (int g = g0; g < g1; g++) {
                int v = r * hq + g, first = v * per;
                float ms = Float.NEGATIVE_INFINITY, ls = 0f;
                if (lid < splits) {
                    ms = partial.get((first + lid) * (d + 2));
                    ls = partial.get((first + lid) * (d + 2) + 1);
                }
                wm[lid] = ms;
                ctx.localBarrier();
                for (int w = LOCAL / 2; w > 0; w >>= 1) {
                    if (lid < w) wm[lid] = TornadoMath.max(wm[lid], wm[lid + w]);
                    ctx.localBarrier();
                }
                float m = wm[0];
                float weight = ms == Float.NEGATIVE_INFINITY ? 0f : TornadoMath.exp(ms - m);
                wl[lid] = ls * weight;
                ctx.localBarrier();
                for (int w = LOCAL / 2; w > 0; w >>= 1) {
                    if (lid < w) wl[lid] += wl[lid + w];
                    ctx.localBarrier();
                }
                float l = wl[0];
                float norm = normalizer(m, l, sinkOf(q, p, oracle ? g : 2 * g));
                ctx.localBarrier();
                wm[lid] = weight;
                ctx.localBarrier();
                if (merging) {
                    // Loads at clamped addresses, not under a condition: the compiler then keeps several in flight
                    // (a guarded load per split waited out one L2 latency after another).
                    int at = first * (d + 2) + 2, lo = TornadoMath.min(lid, d - 1), hi = TornadoMath.min(lid + LOCAL, d - 1);
                    float acc0 = 0f, acc1 = 0f;
                    int sp = 0;
                    // Sixteen splits a round: a round costs about one L2 round trip, and a decode step at a long context has 128
                    // splits, so fewer rounds is fewer round trips.
                    for (; sp + 16 <= splits; sp += 16) {
                        int s0 = at + sp * (d + 2) + lo, s8 = s0 + 8 * (d + 2);
                        float p0 = partial.get(s0), p1 = partial.get(s0 + (d + 2)), p2 = partial.get(s0 + 2 * (d + 2)), p3 = partial.get(s0 + 3 * (d + 2));
                        float p4 = partial.get(s0 + 4 * (d + 2)), p5 = partial.get(s0 + 5 * (d + 2)), p6 = partial.get(s0 + 6 * (d + 2)), p7 = partial.get(s0 + 7 * (d + 2));
                        float p8 = partial.get(s8), p9 = partial.get(s8 + (d + 2)), p10 = partial.get(s8 + 2 * (d + 2)), p11 = partial.get(s8 + 3 * (d + 2));
                        float p12 = partial.get(s8 + 4 * (d + 2)), p13 = partial.get(s8 + 5 * (d + 2)), p14 = partial.get(s8 + 6 * (d + 2)), p15 = partial.get(s8 + 7 * (d + 2));
                        acc0 += dot8(p0, p1, p2, p3, p4, p5, p6, p7, wm[sp], wm[sp + 1], wm[sp + 2], wm[sp + 3], wm[sp + 4], wm[sp + 5], wm[sp + 6], wm[sp + 7])
                                + dot8(p8, p9, p10, p11, p12, p13, p14, p15, wm[sp + 8], wm[sp + 9], wm[sp + 10], wm[sp + 11], wm[sp + 12], wm[sp + 13], wm[sp + 14], wm[sp + 15]);
                    }
                    for (; sp < splits; sp++) acc0 += partial.get(at + sp * (d + 2) + lo) * wm[sp];
                    for (int s2 = 0; d > LOCAL && s2 < splits; s2++) acc1 += partial.get(at + s2 * (d + 2) + hi) * wm[s2];
                    // The oracle's output is the combined splits; sparse weighs them by gateSel and adds the window's.
                    int wSel = p.get(GATE_SEL_W), wSwa = p.get(GATE_SWA_W);
                    float gate0 = oracle ? 1f : gateAt(q, p.get(GATES_AT), v, wSel, lid);
                    float gate1 = oracle ? 1f : gateAt(q, p.get(GATES_AT), v, wSel, lid + LOCAL);
                    store(out, v, d, lid, acc0, acc1, gate0 * norm, gate1 * norm, false);
                    if (!oracle) {
                        int w = (first + splits) * (d + 2);
                        float normW = normalizer(partial.get(w), partial.get(w + 1), sinkOf(q, p, 2 * g + 1));
                        float w0 = lid < d ? partial.get(w + 2 + lid) : 0f;
                        float w1 = lid + LOCAL < d ? partial.get(w + 2 + lid + LOCAL) : 0f;
                        int swaAt = p.get(GATES_SWA_AT);
                        store(out, v, d, lid, w0, w1, gateAt(q, swaAt, v, wSwa, lid) * normW, gateAt(q, swaAt, v, wSwa, lid + LOCAL) * normW, true);
                    }
                } else if (j < nb) {
                    float mass = 0f, peak = 0f;
                    for (int c = 0; c < cpb && j * b + c * LOCAL <= last; c++) {
                        int at = (v * stride + j * cpb + c) * STAT;
                        float ref = stats.get(at), sum = stats.get(at + 1), top = stats.get(at + 2);
                        if (sum > 0f) {
                            float f = TornadoMath.exp(ref - m) * norm;
                            mass += sum * f;
                            peak = TornadoMath.max(peak, top * f);
                        }
                    }
                    masses.set(v * nbStride + j, mass);
                    best = TornadoMath.max(best, p.get(SCORE_MODE) == SCORES_MAX ? peak : mass);
                }
                ctx.localBarrier();
            }
        }
        if (scoring && j < nb) out.set(p.get(SCORES_AT) + (h * p.get(NQB) + qb) * nb + j, best);
    }

    /** Writes {@code f0 * acc0} and {@code f1 * acc1} at dimensions lid and lid + LOCAL, adding to what is there when asked. */
    private static void store(FloatArray out, int x, int d, int lid, float acc0, float acc1, float f0, float f1, boolean add) {
        if (lid < d) out.set(x * d + lid, (add ? out.get(x * d + lid) : 0f) + f0 * acc0);
        if (lid + LOCAL < d) out.set(x * d + lid + LOCAL, (add ? out.get(x * d + lid + LOCAL) : 0f) + f1 * acc1);
    }

    /**
     * Vector x's gate at dimension dim, from {@code at}: per head ({@code width} 1) one value a vector, per channel
     * ({@code width} D) one a dimension; dim is clamped into the row, so a thread past D reads a valid address.
     */
    private static float gateAt(FloatArray q, int at, int x, int width, int dim) {
        return q.get(at + x * width + TornadoMath.min(dim, width - 1));
    }

    /** Sink logit {@code i} of the call (see {@link #mergeSplits}): the host writes -infinity where there is none. */
    private static float sinkOf(FloatArray q, IntArray p, int i) {
        return q.get(p.get(SINKS_AT) + i);
    }
}
