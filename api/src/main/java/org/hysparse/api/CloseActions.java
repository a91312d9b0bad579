package org.hysparse.api;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/** Actions an owner ({@link KvCache}, {@link KvPool}) runs once when it closes; one added after the close runs at once. */
final class CloseActions {
    private final List<Runnable> actions = new CopyOnWriteArrayList<>();

    /** Keeps {@code action} for {@link #runAll}, or runs it now if the owner is {@code closed} already. */
    void add(Runnable action, boolean closed) {
        Objects.requireNonNull(action, "action");
        if (closed) action.run();
        else actions.add(action);
    }

    /** Runs every action kept, once. */
    void runAll() {
        for (Runnable action : actions) action.run();
        actions.clear();
    }
}
