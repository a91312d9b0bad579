package org.hysparse.backend.tornado;

import org.hysparse.api.Availability;
import org.hysparse.api.BackendOptions;
import org.junit.jupiter.api.Assumptions;

/**
 * The backend under test on the device -Dhysparse.tornado.device names (default: see Devices.DEFAULT_RULE), reading
 * float16 caches as -Dhysparse.tornado.float16 says (native or words; default: the device's, see Devices.nativeHalf), and
 * running calls as -Dhysparse.tornado.launch says (graph or calls; default: the device's, see Devices.graphs).
 */
final class OnDevice {
    private OnDevice() {
    }

    /** The backend, or the calling test skipped with TornadoVM's reason. */
    static TornadoBackend tornado() {
        return tornado(BackendOptions.none());
    }

    /** The backend with {@code extra} options besides the device ones, or the calling test skipped with TornadoVM's reason. */
    static TornadoBackend tornado(BackendOptions extra) {
        TornadoProvider provider = new TornadoProvider();
        // Asked once: TornadoVM's runtime fails in a static initializer, and only the first failure names the cause.
        Availability a = provider.availability();
        Assumptions.assumeTrue(a.available(), "tornado unavailable: " + a.reason());
        BackendOptions options = extra;
        return (TornadoBackend) provider.create(options.with("device", System.getProperty("hysparse.tornado.device", ""))
                .with("float16", System.getProperty("hysparse.tornado.float16", ""))
                .with("launch", System.getProperty("hysparse.tornado.launch", "")));
    }
}
