package org.hysparse.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.hysparse.api.*;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * A serving simulation: sequences arrive with prompts of random lengths, decode a random number of tokens and
 * leave; some fork a running sequence (a shared prompt). Every full layer keeps one {@link KvPool} for all
 * sequences and every sparse layer one {@link SwaPool} of window rings, and each decode step runs every layer as
 * one batch over the live sequences.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Simulate serving: sequences arriving, decoding and leaving, every layer one KV pool and one batched call a step.")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Option(names = "--preset", description = "Heads and head dim from this model (default: ${DEFAULT-VALUE}).")
    String preset = ModelPreset.HYSPARSE_80B.name();
    @Option(names = "--pattern", description = "Layers simulated: one of the preset's groups, a full layer and its sparse layers (default: ${DEFAULT-VALUE}).")
    String pattern = "FSSSSSSSSSSS";
    @Option(names = "--heads", description = "Hq/Hkv, overriding the preset's.")
    String heads;
    @Option(names = "--dim", description = "Head dimension, overriding the preset's.")
    Integer dim;
    @Option(names = "--batch", description = "Most sequences decoding at once (default: ${DEFAULT-VALUE}).")
    int batch = 16;
    @Option(names = "--steps", description = "Decode steps (default: ${DEFAULT-VALUE}).")
    int steps = 64;
    @Option(names = "--prompt-min", description = "Shortest prompt, tokens (default: ${DEFAULT-VALUE}).")
    int promptMin = 1024;
    @Option(names = "--prompt-max", description = "Longest prompt, tokens (default: ${DEFAULT-VALUE}).")
    int promptMax = 8192;
    @Option(names = "--kv", description = "KV storage: fp32, fp16 or bf16 (default: ${DEFAULT-VALUE}).")
    String kv = "fp16";
    @Option(names = "--backend", description = "Backend name (default: the best available).")
    String backend;
    @Option(names = "--options", description = "Backend options, key=value,...")
    String options;
    @Option(names = "--seed", description = "Seed of arrivals and data (default: ${DEFAULT-VALUE}).")
    long seed = 7;
    @Option(names = "--monitor", description = "Soak check: every N steps record the heap after GC, the thread count, pool pages and "
            + "the backend's device memory; exit 1 when the heap grows past the pools' own growth or threads grow (default: off).")
    int monitor;

    private static final int BLOCK = SelectionPolicy.PAPER_BLOCK_SIZE, WINDOW = SelectionPolicy.PAPER_WINDOW;
    /** The most tokens a sequence decodes before it leaves (it draws 8 + 0..56). */
    private static final int MAX_DECODE = 64;

    /** One sequence: its cache in each full layer's pool, its window ring in each sparse layer, tokens still to make. */
    private record Seq(List<KvCache> caches, List<SwaCache> windows, int[] left) implements AutoCloseable {
        @Override
        public void close() {
            caches.forEach(KvCache::close);
            windows.forEach(SwaCache::close);
        }
    }

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        ModelPreset p = ModelPreset.named(preset);
        int[] h = RunConfig.heads(heads, p);
        int hq = h[0], hkv = h[1], d = dim != null ? dim : p.headDim();
        KvPrecision precision = KvPrecision.parse(kv);
        String layout = RunConfig.checkPattern(pattern.trim().toUpperCase(Locale.ROOT));
        if (batch < 1) throw new IllegalArgumentException("--batch: expected >= 1 but got " + batch);
        if (steps < 1) throw new IllegalArgumentException("--steps: expected >= 1 but got " + steps);
        if (monitor < 0) throw new IllegalArgumentException("--monitor: expected >= 0 but got " + monitor);
        if (promptMin < 1 || promptMax < promptMin) {
            throw new IllegalArgumentException("--prompt-max: expected >= --prompt-min >= 1 but got " + promptMin + ".." + promptMax);
        }
        int full = (int) layout.chars().filter(c -> c == 'F').count();
        HeapCheck.require("serving " + batch + " sequences of up to " + (promptMax + MAX_DECODE) + " tokens",
                HeapCheck.serveBytes(layout.length(), full, batch, (long) promptMax + MAX_DECODE + 2L * BLOCK, WINDOW, hkv, d, precision));
        SplittableRandom rnd = new SplittableRandom(seed);
        Backends backends = Backends.fromClasspath();
        var provider = backend == null ? backends.chooseDefault().provider() : backends.require(backend);
        List<KvPool> pools = new ArrayList<>();
        List<SwaPool> ringPools = new ArrayList<>();
        List<Seq> live = new ArrayList<>();
        double[] latency = new double[steps];
        long tokens = 0, started = 0;
        int peakPages = 0, peakLive = 0, forks = 0, finished = 0;
        double seconds;
        Soak soak = monitor > 0 ? new Soak() : null;
        boolean steady = true;
        try (AttentionBackend b = provider.create(BackendOptions.parse(options)); Progress progress = new Progress(err)) {
            // A server's KV budget, fixed up front (as vLLM sizes its pool): twice every live sequence at its longest
            // (prompt, decode, a fork's copy on write), since a fork keeps pages of a parent that has left. Host pages are
            // still made only as needed; a device backend sizes its copy of the pool once.
            int maxPages = 2 * batch * ((promptMax + MAX_DECODE + BLOCK - 1) / BLOCK + 1);
            for (int f = 0; f < full; f++) pools.add(new KvPool(hkv, d, BLOCK, precision, maxPages));
            for (int l = 0; l < layout.length() - full; l++) ringPools.add(new SwaPool(hkv, d, WINDOW, precision));
            long t0 = System.nanoTime();
            for (int s = 0; s < steps; s++) {
                // Arrivals fill free slots (one a step, two at the start); a quarter of them fork a running sequence.
                for (int a = 0; a < (s == 0 ? Math.min(batch, 4) : 1) && live.size() < batch; a++) {
                    if (!live.isEmpty() && rnd.nextInt(4) == 0) {
                        live.add(fork(live.get(rnd.nextInt(live.size())), ringPools, hkv, d, rnd));
                        forks++;
                    } else {
                        live.add(arrive(pools, ringPools, hkv, d, promptMin + rnd.nextInt(promptMax - promptMin + 1), rnd));
                    }
                    started++;
                }
                long st = System.nanoTime();
                decodeStep(b, live, layout, hq, hkv, d, rnd);
                latency[s] = (System.nanoTime() - st) / 1e6;
                tokens += live.size();
                peakLive = Math.max(peakLive, live.size());
                for (KvPool pool : pools) peakPages = Math.max(peakPages, pool.pagesInUse());
                for (int i = live.size() - 1; i >= 0; i--) {
                    if (--live.get(i).left()[0] <= 0) {
                        live.remove(i).close();
                        finished++;
                    }
                }
                progress.step("serve", s + 1, steps);
                if (soak != null && (s + 1) % monitor == 0) soak.sample(s + 1, pools, ringPools, b);
            }
            seconds = (System.nanoTime() - t0) / 1e9;
            double[] sorted = latency.clone();
            Arrays.sort(sorted);
            KvPool pool0 = pools.get(0);
            long seqTokens = live.stream().mapToLong(q -> q.caches().get(0).length()).sum();
            int nSeq = Math.max(1, live.size());
            KvBudget perSeq = new KvBudget(layout.length(), full, seqTokens / nSeq, WINDOW, hkv, d, precision);
            out.printf(Locale.ROOT, "hysparse serve on backend '%s' (%s)%n", b.name(), Backends.device(provider, b));
            out.printf(Locale.ROOT, "layers %s (Hq/Hkv %d/%d, D %d, B %d, top-k %d, W %d, KV %s); at most %d sequences, prompts %d..%d%n",
                    layout, hq, hkv, d, BLOCK, SelectionPolicy.PAPER_TOP_K, WINDOW, precision.shortName(), batch, promptMin, promptMax);
            double stepSeconds = Arrays.stream(latency).sum() / 1e3;
            out.printf(Locale.ROOT, "%d decode steps, %d sequences started (%d forks), %d finished; %d tokens in %.2f s of steps: %.1f tokens/s"
                    + " (%.2f s in all, arrivals' synthetic prompts included)%n", steps, started, forks, finished, tokens, stepSeconds,
                    tokens / stepSeconds, seconds);
            out.printf(Locale.ROOT, "step latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms (all layers, the whole batch)%n",
                    pct(sorted, 50), pct(sorted, 99), sorted[sorted.length - 1]);
            out.printf(Locale.ROOT, "pool (first full layer): %d pages in use, %d free, %d allocated, peak %d in use (%s a page)%n",
                    pool0.pagesInUse(), pool0.freePages(), pool0.pagesAllocated(), peakPages,
                    ReportFormat.bytes(KvBudget.cacheBytes(BLOCK, hkv, d, precision)));
            if (!ringPools.isEmpty()) {
                out.printf(Locale.ROOT, "window rings (first sparse layer): %d in use, %d allocated (reused as sequences leave)%n",
                        ringPools.get(0).ringsInUse(), ringPools.get(0).ringsAllocated());
            }
            out.printf(Locale.ROOT, "KV per sequence at its mean length %d: HySparse %s, full attention %s (%.2fx), over these %d layers%n",
                    seqTokens / nSeq, ReportFormat.bytes(perSeq.hySparseBytes()), ReportFormat.bytes(perSeq.fullAttentionBytes()),
                    perSeq.reductionVsFullAttention(), layout.length());
            if (soak != null) steady = soak.report(out);
            out.flush();
        } finally {
            live.forEach(Seq::close);
            pools.forEach(KvPool::close);
            ringPools.forEach(SwaPool::close);
        }
        return steady ? 0 : 1;
    }

    /**
     * The soak check's samples. The pools keep their high-water mark of pages (freed pages are reused, not given
     * back), so the heap may grow by what the pools grew and no more; threads must not grow at all.
     */
    private static final class Soak {
        private record Sample(int step, long heap, int threads, long poolBytes, long device) {
        }

        private final List<Sample> samples = new ArrayList<>();

        void sample(int step, List<KvPool> pools, List<SwaPool> rings, AttentionBackend b) {
            System.gc();
            long heap = java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            long poolBytes = 0;
            for (KvPool p : pools) poolBytes += KvBudget.cacheBytes((long) p.pagesAllocated() * p.blockSize(), p.kvHeads(), p.headDim(), p.precision());
            for (SwaPool r : rings) poolBytes += r.ringsAllocated() * KvBudget.cacheBytes(r.capacity(), r.kvHeads(), r.headDim(), r.precision());
            samples.add(new Sample(step, heap, java.lang.management.ManagementFactory.getThreadMXBean().getThreadCount(), poolBytes,
                    b.deviceMemoryBytes()));
        }

        /** Prints the samples and the verdict; true when steady. Judged from the second sample (after warm-up). */
        boolean report(java.io.PrintWriter out) {
            out.printf(Locale.ROOT, "soak: %8s %12s %8s %12s %12s%n", "step", "heap (GC'd)", "threads", "pool bytes", "device");
            for (Sample x : samples) {
                out.printf(Locale.ROOT, "soak: %8d %12s %8d %12s %12s%n", x.step(), ReportFormat.bytes(x.heap()), x.threads(),
                        ReportFormat.bytes(x.poolBytes()), ReportFormat.bytes(x.device()));
            }
            if (samples.size() < 3) {
                out.println("soak: fewer than 3 samples, no verdict (use more --steps or a smaller --monitor)");
                return true;
            }
            Sample first = samples.get(1), last = samples.get(samples.size() - 1);
            long heapGrowth = last.heap() - first.heap(), poolGrowth = last.poolBytes() - first.poolBytes();
            // 16 MiB: what the JIT, class data and GC bookkeeping may add over a long run. A heap that rose at every
            // sample after the first, by more than the pools did, is a leak however small (a short run of one stays
            // under the allowance: 1.5 KB a step passed 4,000 steps and failed 20,000).
            boolean rising = samples.size() >= 4;
            for (int i = 2; i < samples.size(); i++) rising &= samples.get(i).heap() > samples.get(i - 1).heap();
            boolean heapOk = heapGrowth <= poolGrowth + (16L << 20) && !(rising && heapGrowth > poolGrowth + (1L << 20));
            boolean threadsOk = last.threads() <= first.threads();
            boolean deviceOk = last.device() <= first.device() + poolGrowth;
            out.printf(Locale.ROOT, "soak: heap after GC %s -> %s (pools grew %s): %s; threads %d -> %d: %s; device %s -> %s: %s%n",
                    ReportFormat.bytes(first.heap()), ReportFormat.bytes(last.heap()), ReportFormat.bytes(poolGrowth), heapOk ? "flat" : "GROWING",
                    first.threads(), last.threads(), threadsOk ? "flat" : "GROWING", ReportFormat.bytes(first.device()),
                    ReportFormat.bytes(last.device()), deviceOk ? "flat" : "GROWING");
            return heapOk && threadsOk && deviceOk;
        }
    }

    private static double pct(double[] sorted, int p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    private static float[] gauss(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = SyntheticModel.gaussian(rnd);
        return a;
    }

    private Seq arrive(List<KvPool> pools, List<SwaPool> ringPools, int hkv, int d, int prompt, SplittableRandom rnd) {
        List<KvCache> caches = new ArrayList<>();
        List<SwaCache> windows = new ArrayList<>();
        for (KvPool pool : pools) {
            KvCache c = pool.newSequence();
            c.append(gauss(rnd, prompt * hkv * d), gauss(rnd, prompt * hkv * d), prompt);
            caches.add(c);
        }
        for (SwaPool ring : ringPools) windows.add(window(ring, hkv, d, prompt, rnd));
        return new Seq(caches, windows, new int[] {8 + rnd.nextInt(MAX_DECODE - 7)});
    }

    /** A fork shares its parent's pages in every full layer; its window rings start as its parent's tokens would. */
    private Seq fork(Seq parent, List<SwaPool> ringPools, int hkv, int d, SplittableRandom rnd) {
        List<KvCache> caches = new ArrayList<>();
        for (KvCache c : parent.caches()) caches.add(c.fork());
        List<SwaCache> windows = new ArrayList<>();
        int length = caches.get(0).length();
        for (SwaPool ring : ringPools) windows.add(window(ring, hkv, d, length, rnd));
        return new Seq(caches, windows, new int[] {8 + rnd.nextInt(MAX_DECODE - 7)});
    }

    /**
     * A window ring at {@code length} tokens. A ring holds only its last W tokens, so the rows before those are one
     * random chunk of W rows appended again and again (drawing fresh numbers for rows the ring drops would cost
     * most of an arrival), and the last W rows are fresh.
     */
    private static SwaCache window(SwaPool pool, int hkv, int d, int length, SplittableRandom rnd) {
        SwaCache w = pool.newRing();
        int n = hkv * d, dropped = Math.max(0, length - WINDOW);
        float[] k = gauss(rnd, WINDOW * n), v = gauss(rnd, WINDOW * n);
        for (int t = 0; t < dropped; t += WINDOW) {
            int m = Math.min(WINDOW, dropped - t);
            w.append(m == WINDOW ? k : Arrays.copyOf(k, m * n), m == WINDOW ? v : Arrays.copyOf(v, m * n), m);
        }
        int held = length - dropped;
        w.append(gauss(rnd, held * n), gauss(rnd, held * n), held);
        return w;
    }

    /** One token for every live sequence: every layer a batched call (full: oracle then selection; sparse: sparse). */
    private void decodeStep(AttentionBackend b, List<Seq> live, String layout, int hq, int hkv, int d, SplittableRandom rnd) {
        if (live.isEmpty()) return;
        int n = hkv * d;
        for (Seq q : live) {
            for (KvCache c : q.caches()) c.append(gauss(rnd, n), gauss(rnd, n), 1);
            for (SwaCache w : q.windows()) w.append(gauss(rnd, n), gauss(rnd, n), 1);
        }
        BlockGeometry g = BlockGeometry.of(BLOCK);
        List<BlockSelection> selections = null;
        int f = -1, s = 0;
        for (char ch : layout.toCharArray()) {
            if (ch == 'F') {
                f++;
                List<OracleRequest> reqs = new ArrayList<>();
                for (Seq q : live) reqs.add(OracleRequest.of(Queries.last(gauss(rnd, hq * d), 1, hq, d, q.caches().get(f).length()), q.caches().get(f), g));
                List<SelectionRequest> sel = new ArrayList<>();
                for (OracleOutput o : b.oracle(new OracleBatch(reqs))) sel.add(new SelectionRequest(o.scores(), SelectionPolicy.TopK.paper()));
                selections = b.select(sel);
            } else {
                List<SparseRequest> reqs = new ArrayList<>();
                for (int i = 0; i < live.size(); i++) {
                    Seq q = live.get(i);
                    KvCache c = q.caches().get(f);
                    reqs.add(SparseRequest.of(Queries.last(gauss(rnd, hq * d), 1, hq, d, c.length()), c.view(), selections.get(i),
                            q.windows().get(s), WINDOW, SyntheticModel.gates(hq * d, rnd), SyntheticModel.gates(hq * d, rnd)));
                }
                b.sparse(new SparseBatch(reqs));
                s++;
            }
        }
    }
}
