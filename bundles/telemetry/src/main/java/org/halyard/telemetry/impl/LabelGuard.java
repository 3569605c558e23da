package org.halyard.telemetry.impl;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import org.halyard.telemetry.api.metrics.HalyardMetrics;

/**
 * Keeps label values bounded. A model or mode label takes only values the node knows: modes and
 * models registered as services now or before, and those configured. Anything else (a client
 * naming a model that does not exist, which is then rejected) is counted under
 * {@link HalyardMetrics#OTHER}, so that no client can grow the number of series.
 *
 * <p>Reads are lock-free (a volatile immutable set); writes happen only when services come and
 * go or configuration changes.
 */
final class LabelGuard {

    private final Object lock = new Object();
    private volatile Set<String> known = Set.of();
    private final Set<String> everRegistered = new HashSet<>();
    private Set<String> configured = Set.of();
    private final Set<String> registered = new HashSet<>();

    /** The label value for a raw value: itself when known, {@code none} when empty, else {@code other}. */
    String label(String value) {
        if (value == null || value.isEmpty()) {
            return HalyardMetrics.NONE;
        }
        return known.contains(value) ? value : HalyardMetrics.OTHER;
    }

    /** Whether a raw value maps to {@code other}. */
    boolean overflows(String value) {
        return value != null && !value.isEmpty() && !known.contains(value);
    }

    /** The values known now (registered or configured). */
    Set<String> current() {
        synchronized (lock) {
            Set<String> s = new HashSet<>(registered);
            s.addAll(configured);
            return Set.copyOf(s);
        }
    }

    void configure(Collection<String> values) {
        synchronized (lock) {
            configured = Set.copyOf(values);
            rebuild();
        }
    }

    void register(String value) {
        if (value == null || value.isEmpty()) {
            return;
        }
        synchronized (lock) {
            registered.add(value);
            everRegistered.add(value);
            rebuild();
        }
    }

    void unregister(String value) {
        synchronized (lock) {
            registered.remove(value);
            // stays in everRegistered: late records of a model that was just swapped out keep
            // their series
        }
    }

    private void rebuild() {
        Set<String> s = new HashSet<>(everRegistered);
        s.addAll(configured);
        known = Set.copyOf(s);
    }
}
