package org.halyard.telemetry.impl;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricRegistry;
import java.util.function.Supplier;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.MetricFamily;
import org.halyard.telemetry.api.metrics.MetricId;

/** Get-or-create of labelled metrics in a Dropwizard registry. */
final class Registry {

    private final MetricRegistry registry;

    Registry(MetricRegistry registry) {
        this.registry = registry;
    }

    MetricRegistry unwrap() {
        return registry;
    }

    Counter counter(MetricId id) {
        return registry.counter(id.encode());
    }

    BucketHistogram histogram(MetricFamily family, MetricId id) {
        return getOrAdd(id, () -> new BucketHistogram(family.bucketArray()), BucketHistogram.class);
    }

    @SuppressWarnings("unchecked")
    <T> Gauge<T> gauge(MetricId id, Gauge<T> gauge) {
        return getOrAdd(id, () -> gauge, Gauge.class);
    }

    void remove(MetricId id) {
        registry.remove(id.encode());
    }

    private <M extends Metric> M getOrAdd(MetricId id, Supplier<M> create, Class<? super M> type) {
        String name = id.encode();
        Metric m = registry.getMetrics().get(name);
        if (m == null) {
            try {
                return registry.register(name, create.get());
            } catch (IllegalArgumentException raced) {
                m = registry.getMetrics().get(name);
            }
        }
        if (!type.isInstance(m)) {
            throw new IllegalStateException(name + " is registered as " + m.getClass().getName());
        }
        @SuppressWarnings("unchecked")
        M found = (M) m;
        return found;
    }
}
