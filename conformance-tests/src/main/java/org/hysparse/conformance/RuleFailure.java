package org.hysparse.conformance;

/** A rule broken by a backend; the message starts with the rule id and carries case and seed. */
public final class RuleFailure extends AssertionError {
    private final Rule rule;

    public RuleFailure(Rule rule, String message) {
        super(rule.id() + " " + message);
        this.rule = rule;
    }

    /** A rule broken by the backend throwing: {@code cause} is the backend's exception, kept for its stack trace. */
    public RuleFailure(Rule rule, String message, Throwable cause) {
        super(rule.id() + " " + message, cause);
        this.rule = rule;
    }

    public Rule rule() { return rule; }
}
