package org.hysparse.conformance;

/** Outcome of one rule for one backend and precision. */
public record RuleResult(Rule rule, Status status, String message, long millis) {
    public enum Status { PASSED, FAILED, SKIPPED }
}
