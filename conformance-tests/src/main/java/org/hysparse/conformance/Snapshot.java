package org.hysparse.conformance;

import java.util.Arrays;
import org.hysparse.api.KvSource;

/** Contents of a workload's inputs and caches, to prove an operation left them alone. */
record Snapshot(float[] q, float[] gateSel, float[] gateSwa, int cacheLength, long cacheHash, int swaLength, long swaHash) {

    static Snapshot of(Workload w) {
        return new Snapshot(w.queries.data().clone(), w.gateSel.clone(), w.gateSwa.clone(), w.cache.length(), hash(w.cache),
                w.swa == null ? 0 : w.swa.length(), w.swa == null ? 0 : hash(w.swa));
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
        ConformanceSuite.check(rule, cacheLength == now.cacheLength && cacheHash == now.cacheHash, context + ": the full layer's cache was modified");
        ConformanceSuite.check(rule, swaLength == now.swaLength && swaHash == now.swaHash, context + ": the SWA cache was modified");
    }
}
