package org.hysparse.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** An output folder checked before the work that fills it: created if missing, and proven writable. */
final class WritableFolder {
    private WritableFolder() {
    }

    static void check(String option, Path dir) {
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(Files.createTempFile(dir, ".hysparse-", ".probe"));
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(option + ": expected a folder that can be written but got " + dir + " ("
                    + Main.message(e instanceof IOException io ? io : new IOException(e)) + ")");
        }
    }
}
