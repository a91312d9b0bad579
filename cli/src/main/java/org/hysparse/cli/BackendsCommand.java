package org.hysparse.cli;

import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.hysparse.api.AttentionBackendProvider;
import org.hysparse.api.Availability;
import org.hysparse.api.BackendNotFoundException;
import org.hysparse.api.Backends;
import org.hysparse.api.KvPrecision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "backends", mixinStandardHelpOptions = true,
        description = "List every backend on the classpath: availability and why, device, precisions, and the default.")
final class BackendsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        Backends backends = Backends.fromClasspath();
        String chosen;
        String why;
        try {
            Backends.Choice c = backends.chooseDefault();
            chosen = c.provider().name();
            why = c.reason();
        } catch (BackendNotFoundException e) {
            chosen = "";
            why = e.getMessage();
        }
        out.printf("%-10s %-8s %-11s %-10s %s%n", "BACKEND", "PRIORITY", "AVAILABLE", "KV", "DEVICE / REASON");
        for (AttentionBackendProvider p : backends.providers()) {
            Availability a = p.availability();
            String kv = p.precisions().stream().map(KvPrecision::shortName).collect(Collectors.joining(","));
            out.printf("%-10s %-8d %-11s %-10s %s%n", p.name() + (p.name().equals(chosen) ? "*" : ""), p.priority(),
                    a.available() ? "yes" : "no", kv, p.device());
            out.printf("%-10s %-8s %-11s %-10s %s%n", "", "", "", "", a.reason());
        }
        out.println();
        out.println(chosen.isEmpty() ? "No default backend: " + why : "* default: " + chosen + " (" + why + ")");
        out.println("Override with -Dhysparse.backend=NAME or HYSPARSE_BACKEND=NAME; add backends to the classpath with HYSPARSE_CLASSPATH.");
        out.flush();
        return 0;
    }
}
