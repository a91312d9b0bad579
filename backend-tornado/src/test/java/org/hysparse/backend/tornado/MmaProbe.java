package org.hysparse.backend.tornado;

import java.util.Random;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.MMAShape;
import uk.ac.manchester.tornado.api.types.HalfFloat;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;


/**
 * Probe of TornadoVM 5.2's warp MMA on the CUDA driver, in the cache layouts of Kernels (docs/adr/0008): one
 * work-group of 4 warps computes S = Q K^T for 16 query rows against 128 keys (K by dimension pairs) and O = P V (V by
 * slot pairs, P given as floats and rounded to half in the kernel), each through packed int tiles, ldmatrix, mma.sync and
 * mmaStore. Run on a CUDA device: {@code HYSPARSE_CLASSPATH=backend-tornado/target/test-classes
 * HYSPARSE_MAIN=org.hysparse.backend.tornado.MmaProbe cli/bin/hysparse}.
 */
public final class MmaProbe {
    static final int R = 16, N = 128, D = 128;

    static int kIndex(int key, int dim) {
        return Kernels.keyAt(key, 0, dim, N, D, D, N * D, TensorCoreKernels.MBITS);
    }

    static int vIndex(int key, int dim) {
        return Kernels.valueAt(key, 0, 0, N, D, N * D, TensorCoreKernels.MBITS) + 2 * dim;
    }

    static void probe(KernelContext ctx, HalfFloatArray q, HalfFloatArray k, HalfFloatArray v, FloatArray probs, FloatArray s,
                      FloatArray o, IntArray bits) {
        int[] qT = ctx.allocateIntLocalArray(16 * 64);
        int[] bT = ctx.allocateIntLocalArray(4 * 256);
        int[] pT = ctx.allocateIntLocalArray(16 * 64);
        int lid = ctx.localIdx, warp = lid / 32, lane = lid % 32;
        // A tiles: k-step ks is a 16 x 16 row-major tile of 8 words a row; word c of row r holds dims 16 ks + 2c, + 1.
        for (int i = lid; i < 1024; i += 128) {
            int ks = i / 128, r = (i / 8) % 16, c = i % 8, e = 16 * ks + 2 * c;
            int lo = q.get(r * 128 + e).getHalfFloatValue() & 0xffff, hi = q.get(r * 128 + e + 1).getHalfFloatValue() & 0xffff;
            qT[i] = lo | (hi << 16);
            float pl = probs.get(r * 128 + e), ph = probs.get(r * 128 + e + 1);
            int plo = new HalfFloat(pl).getHalfFloatValue() & 0xffff, phi = new HalfFloat(ph).getHalfFloatValue() & 0xffff;
            pT[i] = plo | (phi << 16);
            bits.set(i, pT[i]);
        }
        ctx.localBarrier();
        float[] c0 = ctx.mmaFragment(0f);
        float[] c1 = ctx.mmaFragment(0f);
        float[] c2 = ctx.mmaFragment(0f);
        float[] c3 = ctx.mmaFragment(0f);
        for (int ks = 0; ks < 8; ks++) {
            // B tiles of this warp: n-tile j is keys 32 warp + 8 j .. + 8, a 16 x 8 row-major tile of 4 words a row; word np
            // of row kk holds keys 2 np, 2 np + 1 of dim 16 ks + kk.
            for (int i = lane; i < 256; i += 32) {
                int j = i / 64, kk = (i % 64) / 4, np = i % 4;
                int key = 32 * warp + 8 * j + 2 * np, dim = 16 * ks + kk;
                int lo = k.get(kIndex(key, dim)).getHalfFloatValue() & 0xffff, hi = k.get(kIndex(key + 1, dim)).getHalfFloatValue() & 0xffff;
                bT[warp * 256 + i] = lo | (hi << 16);
            }
            ctx.localBarrier();
            HalfFloat[] a = ctx.mmaLoadA(qT, 16, ks * 512);
            c0 = ctx.mma(a, ctx.mmaLoadB(bT, 16, warp * 1024), c0, MMAShape.M16N8K16);
            c1 = ctx.mma(a, ctx.mmaLoadB(bT, 16, warp * 1024 + 256), c1, MMAShape.M16N8K16);
            c2 = ctx.mma(a, ctx.mmaLoadB(bT, 16, warp * 1024 + 512), c2, MMAShape.M16N8K16);
            c3 = ctx.mma(a, ctx.mmaLoadB(bT, 16, warp * 1024 + 768), c3, MMAShape.M16N8K16);
            ctx.localBarrier();
        }
        ctx.mmaStore(c0, s, 0, 32 * warp, 128);
        ctx.mmaStore(c1, s, 0, 32 * warp + 8, 128);
        ctx.mmaStore(c2, s, 0, 32 * warp + 16, 128);
        ctx.mmaStore(c3, s, 0, 32 * warp + 24, 128);
        // O = P V: k-steps over keys, n-tiles over this warp's 32 dims; word np of row kk holds dims 2 np, 2 np + 1 of key
        // 16 ks + kk.
        float[] o0 = ctx.mmaFragment(0f);
        float[] o1 = ctx.mmaFragment(0f);
        float[] o2 = ctx.mmaFragment(0f);
        float[] o3 = ctx.mmaFragment(0f);
        for (int ks = 0; ks < 8; ks++) {
            for (int i = lane; i < 256; i += 32) {
                int j = i / 64, kk = (i % 64) / 4, np = i % 4;
                int dim = 32 * warp + 8 * j + 2 * np, key = 16 * ks + kk;
                int lo = v.get(vIndex(key, dim)).getHalfFloatValue() & 0xffff, hi = v.get(vIndex(key, dim + 1)).getHalfFloatValue() & 0xffff;
                bT[warp * 256 + i] = lo | (hi << 16);
            }
            ctx.localBarrier();
            HalfFloat[] a = ctx.mmaLoadA(pT, 16, ks * 512);
            o0 = ctx.mma(a, ctx.mmaLoadB(bT, 16, warp * 1024), o0, MMAShape.M16N8K16);
            o1 = ctx.mma(a, ctx.mmaLoadB(bT, 16, warp * 1024 + 256), o1, MMAShape.M16N8K16);
            o2 = ctx.mma(a, ctx.mmaLoadB(bT, 16, warp * 1024 + 512), o2, MMAShape.M16N8K16);
            o3 = ctx.mma(a, ctx.mmaLoadB(bT, 16, warp * 1024 + 768), o3, MMAShape.M16N8K16);
            ctx.localBarrier();
        }
        ctx.mmaStore(o0, o, 0, 32 * warp, 128);
        ctx.mmaStore(o1, o, 0, 32 * warp + 8, 128);
        ctx.mmaStore(o2, o, 0, 32 * warp + 16, 128);
        ctx.mmaStore(o3, o, 0, 32 * warp + 24, 128);
    }

    public static void main(String[] args) {
        Devices.Found device = Devices.choose(args.length > 0 ? args[0] : "");
        System.out.println("device " + device.label());
        Random rnd = new Random(7);
        HalfFloatArray q = new HalfFloatArray(R * D), k = new HalfFloatArray(N * D), v = new HalfFloatArray(N * D);
        FloatArray probs = new FloatArray(R * N), s = new FloatArray(R * N), o = new FloatArray(R * D);
        IntArray bits = new IntArray(1024);
        float[][] qf = new float[R][D], kf = new float[N][D], vf = new float[N][D], pf = new float[R][N];
        for (int r = 0; r < R; r++) for (int e = 0; e < D; e++) { q.set(r * D + e, new HalfFloat((float) rnd.nextGaussian())); qf[r][e] = q.get(r * D + e).getFloat32(); }
        for (int t = 0; t < N; t++) for (int e = 0; e < D; e++) {
            k.set(kIndex(t, e), new HalfFloat((float) rnd.nextGaussian()));
            kf[t][e] = k.get(kIndex(t, e)).getFloat32();
            v.set(vIndex(t, e), new HalfFloat((float) rnd.nextGaussian()));
            vf[t][e] = v.get(vIndex(t, e)).getFloat32();
        }
        for (int r = 0; r < R; r++) for (int t = 0; t < N; t++) { pf[r][t] = rnd.nextFloat(); probs.set(r * N + t, pf[r][t]); }
        s.init(Float.NaN);
        o.init(Float.NaN);
        System.setProperty("mma.probe.device", Devices.spec(device.device()));
        TaskGraph g = new TaskGraph("mma").transferToDevice(DataTransferMode.EVERY_EXECUTION, q, k, v, probs, s, o)
                .task("probe", MmaProbe::probe, new KernelContext(), q, k, v, probs, s, o, bits)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, s, o, bits);
        TornadoExecutionPlan plan = Plans.open(device.device(), new GridScheduler("mma.probe", Plans.grid(1)), false, g);
        try {
            plan.execute();
        } finally {
            Plans.close(plan);
        }
        double es = 0, eo = 0, ns = 0, no = 0;
        int badBits = 0;
        for (int r = 0; r < R; r++) {
            for (int t = 0; t < N; t++) {
                double x = 0;
                for (int e = 0; e < D; e++) x += (double) qf[r][e] * kf[t][e];
                es = Math.max(es, Math.abs(s.get(r * N + t) - x));
                ns = Math.max(ns, Math.abs(x));
            }
            for (int e = 0; e < D; e++) {
                double x = 0;
                for (int t = 0; t < N; t++) x += (double) new HalfFloat(pf[r][t]).getFloat32() * vf[t][e];
                eo = Math.max(eo, Math.abs(o.get(r * D + e) - x));
                no = Math.max(no, Math.abs(x));
            }
        }
        for (int i = 0; i < 1024; i++) {
            int ks = i / 128, r = (i / 8) % 16, c = i % 8, e = 16 * ks + 2 * c;
            int want = (new HalfFloat(pf[r][e]).getHalfFloatValue() & 0xffff) | ((new HalfFloat(pf[r][e + 1]).getHalfFloatValue() & 0xffff) << 16);
            if (bits.get(i) != want) badBits++;
        }
        System.out.printf("S = Q K^T: max abs error %.3g of max %.3g%n", es, ns);
        System.out.printf("O = P V:   max abs error %.3g of max %.3g%n", eo, no);
        System.out.printf("P as half bits: %d of 1024 words differ from Java's%n", badBits);
        System.out.println("s[0..3] " + s.get(0) + " " + s.get(1) + " " + s.get(2) + " " + s.get(3));
        boolean ok = es <= 1e-3 * ns && eo <= 1e-3 * no && badBits == 0;
        System.out.println(ok ? "MMA PROBE PASSED" : "MMA PROBE FAILED");
        System.exit(ok ? 0 : 1);
    }
}
