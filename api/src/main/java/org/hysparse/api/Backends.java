package org.hysparse.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Finds backends. Switching backend means changing the classpath: the providers found by
 * {@link ServiceLoader} are all there is. The choice is deterministic: a name given by the system
 * property {@value #PROPERTY} or the environment variable {@value #ENV} wins; otherwise the available
 * provider of highest priority (ties: name order). The choice and its reason are logged.
 */
public final class Backends {
    public static final String PROPERTY = "hysparse.backend";
    public static final String ENV = "HYSPARSE_BACKEND";
    private static final System.Logger LOG = System.getLogger(Backends.class.getName());

    /** The provider picked and why. */
    public record Choice(AttentionBackendProvider provider, String reason) {
    }

    private final List<AttentionBackendProvider> providers;

    private Backends(List<AttentionBackendProvider> providers) {
        List<AttentionBackendProvider> sorted = new ArrayList<>(providers);
        sorted.sort(Comparator.comparing(AttentionBackendProvider::name));
        this.providers = List.copyOf(sorted);
    }

    /** Providers registered on the classpath of {@code loader}. */
    public static Backends fromClasspath(ClassLoader loader) {
        List<AttentionBackendProvider> found = new ArrayList<>();
        ServiceLoader.load(AttentionBackendProvider.class, loader).forEach(found::add);
        return new Backends(found);
    }

    /** Providers registered on this thread's context classpath. */
    public static Backends fromClasspath() {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        return fromClasspath(cl != null ? cl : Backends.class.getClassLoader());
    }

    /** A fixed set of providers, e.g. for tests. */
    public static Backends of(List<AttentionBackendProvider> providers) {
        return new Backends(providers);
    }

    /** All providers found, by name. */
    public List<AttentionBackendProvider> providers() {
        return providers;
    }

    public Optional<AttentionBackendProvider> find(String name) {
        return providers.stream().filter(p -> p.name().equalsIgnoreCase(name.trim())).findFirst();
    }

    /** The name asked for by {@value #PROPERTY} or {@value #ENV}, if any. */
    public static Optional<String> requestedName() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) return Optional.of(p.trim());
        String e = System.getenv(ENV);
        if (e != null && !e.isBlank()) return Optional.of(e.trim());
        return Optional.empty();
    }

    /** The provider to use when the caller names none: the override if set, else the best available. */
    public Choice chooseDefault() {
        Optional<String> requested = requestedName();
        if (requested.isPresent()) {
            String source = System.getProperty(PROPERTY) != null && !System.getProperty(PROPERTY).isBlank()
                    ? "system property " + PROPERTY : "environment variable " + ENV;
            return log(new Choice(require(requested.get()), "named by " + source));
        }
        AttentionBackendProvider best = null;
        for (AttentionBackendProvider p : providers) {
            if (p.availability().available() && (best == null || p.priority() > best.priority())) best = p;
        }
        if (best == null) {
            throw new BackendNotFoundException("backend: expected at least one available backend but found none. " + listing());
        }
        return log(new Choice(best, "highest priority (" + best.priority() + ") of the available backends "
                + providers.stream().filter(p -> p.availability().available()).map(AttentionBackendProvider::name).toList()));
    }

    /** The provider called {@code name}; fails with a listing when it is missing or unavailable. */
    public AttentionBackendProvider require(String name) {
        Objects.requireNonNull(name, "name");
        AttentionBackendProvider p = find(name).orElseThrow(() -> new BackendNotFoundException(
                "backend: expected one of " + providers.stream().map(AttentionBackendProvider::name).toList()
                        + " but got '" + name + "'. " + listing()));
        Availability a = p.availability();
        if (!a.available()) {
            throw new BackendNotFoundException("backend: '" + p.name() + "' is on the classpath but unavailable: "
                    + a.reason() + ". " + listing());
        }
        return p;
    }

    /** Creates the backend called {@code name}. */
    public AttentionBackend create(String name, BackendOptions options) {
        AttentionBackendProvider p = require(name);
        log(new Choice(p, "named by the caller"));
        return p.create(options);
    }

    /** Creates the default backend (see {@link #chooseDefault()}). */
    public AttentionBackend createDefault(BackendOptions options) {
        return chooseDefault().provider().create(options);
    }

    /**
     * What {@code backend} runs on: its own {@link AttentionBackend#device()}, or where that is empty its
     * {@code provider}'s description. For reports of a run, which may have picked a device by option.
     */
    public static String device(AttentionBackendProvider provider, AttentionBackend backend) {
        String own = backend.device();
        return own == null || own.isBlank() ? provider.device() : own;
    }

    /** One line per provider: name, priority, availability and reason. */
    public String listing() {
        if (providers.isEmpty()) return "No backend provider is on the classpath.";
        StringBuilder sb = new StringBuilder("On the classpath:");
        for (AttentionBackendProvider p : providers) {
            Availability a = p.availability();
            sb.append(' ').append(p.name()).append(" (priority ").append(p.priority()).append(", ")
                    .append(a.available() ? "available: " : "unavailable: ").append(a.reason()).append(");");
        }
        return sb.toString();
    }

    private static Choice log(Choice c) {
        LOG.log(System.Logger.Level.INFO, "hysparse backend ''{0}'' chosen: {1}", c.provider().name(), c.reason());
        return c;
    }
}
