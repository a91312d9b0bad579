package org.hysparse.conformance;

/** A rule that cannot be judged here; the reason says why. Never counted as passed. */
public final class RuleSkipped extends RuntimeException {
    public RuleSkipped(String reason) {
        super(reason);
    }
}
