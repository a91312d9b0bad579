package org.hysparse.cli;

/** A failure the command reports as one line (no stack trace, not even a hint of one) with its exit code. */
final class CliFailure extends RuntimeException {
    private final int exitCode;

    CliFailure(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() { return exitCode; }
}
