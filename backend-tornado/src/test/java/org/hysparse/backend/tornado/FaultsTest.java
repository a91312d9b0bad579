package org.hysparse.backend.tornado;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.hysparse.api.*;
import org.hysparse.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

/**
 * Faults on the device: device memory past the backend's limit, a TornadoVM failure while making a device copy
 * (compile or allocation), and a closed backend. Each is a clear error; the caches are intact and the backend goes
 * on serving. Runs where a TornadoVM device is present (PoCL here, the GPU on the GPU machine).
 */
class FaultsTest {
    /** A run's report names the device its backend is on: the one option device picked, not the provider's default. */
    @Test
    void theBackendNamesTheDeviceItsOptionsPicked() {
        try (TornadoBackend any = OnDevice.tornado()) {
            for (Devices.Found f : Devices.all()) {
                try (AttentionBackend picked = new TornadoProvider().create(BackendOptions.none().with("device", f.backend() + ":" + f.index()))) {
                    assertEquals("TornadoVM " + f.label(), picked.device());
                    assertEquals(picked.device(), Backends.device(new TornadoProvider(), picked));
                }
            }
            assertTrue(any.device().startsWith("TornadoVM "), any.device());
        }
    }

    static final int HQ = 4, HKV = 2, D = 16, B = 16;

    private static KvCache cache(int tokens, Random rnd) {
        KvCache c = new KvCache(HKV, D, B, KvPrecision.FLOAT32);
        float[] k = new float[tokens * HKV * D], v = new float[tokens * HKV * D];
        for (int i = 0; i < k.length; i++) { k[i] = (float) rnd.nextGaussian(); v[i] = (float) rnd.nextGaussian(); }
        c.append(k, v, tokens);
        return c;
    }

    private static OracleRequest decode(KvCache c, Random rnd) {
        float[] q = new float[HQ * D];
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        return OracleRequest.of(Queries.last(q, 1, HQ, D, c.length()), c, BlockGeometry.of(B));
    }

    private static float[] snapshot(KvCache c) {
        float[] all = new float[c.length() * HKV * D], row = new float[D];
        for (int t = 0; t < c.length(); t++) {
            for (int h = 0; h < HKV; h++) {
                c.readKey(t, h, row);
                System.arraycopy(row, 0, all, (t * HKV + h) * D, D);
            }
        }
        return all;
    }

    private static void matchesReference(AttentionBackend tornado, OracleRequest r) {
        OracleOutput got = tornado.oracle(r), want = new ReferenceBackend().oracle(r);
        for (int i = 0; i < want.out().length; i++) assertEquals(want.out()[i], got.out()[i], 1e-4, "output " + i);
    }

    @Test
    void deviceMemoryPastTheLimitIsAClearErrorAndTheBackendGoesOn() {
        Random rnd = new Random(5);
        try (AttentionBackend tornado = OnDevice.tornado(BackendOptions.none().with("memory", "256KB"));
             KvCache small = cache(100, rnd); KvCache big = cache(3000, rnd)) {
            matchesReference(tornado, decode(small, rnd));
            long held = tornado.deviceMemoryBytes();
            float[] before = snapshot(big);
            OracleRequest r = decode(big, rnd);
            OracleOutput out = OracleOutput.allocate(r);
            java.util.Arrays.fill(out.out(), 7f);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> tornado.oracle(r, out));
            assertTrue(e.getMessage().contains("bytes of device memory") && e.getMessage().contains("memory=")
                    && e.getMessage().contains(String.valueOf(256 * 1024)), e.getMessage());
            assertEquals(3000, big.length());
            assertArrayEquals(before, snapshot(big), "the cache is intact");
            for (float f : out.out()) assertEquals(7f, f, "the output buffer is untouched");
            assertEquals(held, tornado.deviceMemoryBytes(), "nothing more is held on the device");
            matchesReference(tornado, decode(small, rnd)); // still serving
            small.close();
            matchesReference(tornado, decode(cache(200, rnd), rnd));
        }
    }

    @Test
    void aTornadoFailureMakingADeviceCopyLeavesCacheAndBackendUsable() {
        Random rnd = new Random(6);
        try (TornadoBackend tornado = OnDevice.tornado(); KvCache c = cache(300, rnd)) {
            float[] before = snapshot(c);
            // TornadoVM's exception where it would come from: the plan's compile and first run (Plans.open).
            Plans.failNextOpen = new RuntimeException("injected: TornadoVM failed to compile the kernels");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> tornado.oracle(decode(c, rnd)));
            assertTrue(e.getMessage().contains("failed") && e.getMessage().contains("injected") && e.getMessage().contains("intact"),
                    e.getMessage());
            assertArrayEquals(before, snapshot(c), "the cache is intact");
            assertEquals(0, tornado.deviceMemoryBytes(), "no device copy is left half made");
            matchesReference(tornado, decode(c, rnd)); // the next call makes the copy and runs
        } finally {
            Plans.failNextOpen = null;
        }
    }

    @Test
    void aClosedBackendSaysSo() {
        Random rnd = new Random(7);
        TornadoBackend tornado = OnDevice.tornado();
        try (KvCache c = cache(50, rnd)) {
            matchesReference(tornado, decode(c, rnd));
            tornado.close();
            assertEquals(0, tornado.deviceMemoryBytes());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> tornado.oracle(decode(c, rnd)));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertEquals(50, c.length());
            tornado.close(); // twice is fine
        }
    }
}
