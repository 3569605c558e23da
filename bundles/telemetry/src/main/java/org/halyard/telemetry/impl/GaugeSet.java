package org.halyard.telemetry.impl;

import com.codahale.metrics.Gauge;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.halyard.telemetry.api.metrics.MetricId;

/**
 * Gauges whose series come and go with what they describe (a KV cache per model, requests per
 * model and mode). A sampler publishes a whole new map of values at once; the set registers
 * gauges for new series, removes those that vanished, and every gauge reads the latest map, so a
 * scrape never sees half of one sample and half of another.
 */
final class GaugeSet {

    private final Registry registry;
    private volatile Map<MetricId, Number> values = Map.of();
    private final Set<MetricId> registered = new HashSet<>();

    GaugeSet(Registry registry) {
        this.registry = registry;
    }

    /** Publishes a sample. Called by one thread at a time (the sampler). */
    synchronized void publish(Map<MetricId, Number> sample) {
        Map<MetricId, Number> next = Map.copyOf(sample);
        values = next;
        for (MetricId id : next.keySet()) {
            if (registered.add(id)) {
                registry.gauge(id, (Gauge<Number>) () -> values.get(id));
            }
        }
        registered.removeIf(id -> {
            if (!next.containsKey(id)) {
                registry.remove(id);
                return true;
            }
            return false;
        });
    }

    Map<MetricId, Number> values() {
        return values;
    }

    synchronized void clear() {
        publish(Map.of());
    }
}
