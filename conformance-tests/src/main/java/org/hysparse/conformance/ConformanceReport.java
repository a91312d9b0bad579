package org.hysparse.conformance;

import java.util.List;
import org.hysparse.api.KvPrecision;

/** Every rule's outcome for one backend in one KV precision. */
public record ConformanceReport(String backend, KvPrecision precision, List<RuleResult> results) {
    public ConformanceReport {
        results = List.copyOf(results);
    }

    public long count(RuleResult.Status status) {
        return results.stream().filter(r -> r.status() == status).count();
    }

    public boolean passed() {
        return count(RuleResult.Status.FAILED) == 0;
    }

    public List<RuleResult> failures() {
        return results.stream().filter(r -> r.status() == RuleResult.Status.FAILED).toList();
    }
}
