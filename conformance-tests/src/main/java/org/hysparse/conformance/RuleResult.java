package org.hysparse.conformance;

/**
 * Outcome of one rule for one backend and precision. {@code cause} is what the backend threw (or the failure
 * itself) when the rule failed, kept for its stack trace; null when it passed or was skipped.
 */
public record RuleResult(Rule rule, Status status, String message, long millis, Throwable cause) {
    public enum Status { PASSED, FAILED, SKIPPED }

    public RuleResult(Rule rule, Status status, String message, long millis) {
        this(rule, status, message, millis, null);
    }
}
