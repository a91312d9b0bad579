package org.hysparse.conformance;

import java.util.Arrays;
import org.hysparse.api.KvSource;

/** Contents of a workload's inputs and caches, to prove an operation left them alone. */
record Snapshot(float[] q, float[] gateSel, float[] gateSwa, float[] v2Inputs, int cacheLength, long cacheHash, int swaLength,
                long swaHash) {

    static Snapshot of(Workload w) {
        return new Snapshot(w.queries.data().clone(), w.gateSel.clone(), w.gateSwa.clone(), v2Inputs(w), w.cache.length(),
                hash(w.cache), w.swa == null ? 0 : w.swa.length(), w.swa == null ? 0 : hash(w.swa));
    }

    /** Per-channel gates and sink logits, end to end. */
    private static float[] v2Inputs(Workload w) {
        float[][] parts = {w.channelGateSel, w.channelGateSwa, w.sinkOracle, w.sinkSel, w.sinkSwa};
        float[] all = new float[Arrays.stream(parts).mapToInt(a -> a.length).sum()];
        int at = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, all, at, a.length);
            at += a.length;
        }
        return all;
    }

    /** Order-sensitive hash of every held key and value bit pattern. */
    static long hash(KvSource kv) {
        long h = 1125899906842597L;
        float[] row = new float[kv.headDim()];
        for (int t = kv.firstPosition(); t < kv.length(); t++) {
            for (int head = 0; head < kv.kvHeads(); head++) {
                kv.readKey(t, head, row);
                for (float f : row) h = 31 * h + Float.floatToRawIntBits(f);
                kv.readValue(t, head, row);
                for (float f : row) h = 31 * h + Float.floatToRawIntBits(f);
            }
        }
        return h;
    }

    void assertSame(Rule rule, String context, Snapshot now) {
        ConformanceSuite.check(rule, Arrays.equals(q, now.q), context + ": queries were modified");
        ConformanceSuite.check(rule, Arrays.equals(gateSel, now.gateSel) && Arrays.equals(gateSwa, now.gateSwa), context + ": gates were modified");
        ConformanceSuite.check(rule, Arrays.equals(v2Inputs, now.v2Inputs), context + ": per-channel gates or sink logits were modified");
        ConformanceSuite.check(rule, cacheLength == now.cacheLength && cacheHash == now.cacheHash, context + ": the full layer's cache was modified");
        ConformanceSuite.check(rule, swaLength == now.swaLength && swaHash == now.swaHash, context + ": the SWA cache was modified");
    }
}
