package org.halyard.exporter.prometheus.impl;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.util.ArrayList;
import java.util.List;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.halyard.telemetry.api.metrics.MetricFamily;
import org.halyard.telemetry.api.metrics.MetricId;

/** A registry holding two series of every family in Halyard's catalogue, plus foreign metrics. */
final class SampleRegistry {

    private SampleRegistry() {
    }

    static MetricRegistry create() {
        MetricRegistry r = new MetricRegistry();
        for (MetricFamily f : HalyardMetrics.ALL) {
            for (int series = 0; series < 2; series++) {
                List<String> values = new ArrayList<>();
                for (String label : f.labels()) {
                    values.add(switch (label) {
                        case HalyardMetrics.MODEL -> series == 0 ? "halyard-shakespeare-moe" : "other";
                        case HalyardMetrics.MODE -> series == 0 ? "interactive" : "batch";
                        case HalyardMetrics.OUTCOME -> series == 0 ? "ok" : "rejected";
                        default -> label + series;
                    });
                }
                if (f.labels().isEmpty() && series == 1) {
                    continue;
                }
                MetricId id = f.id(values.toArray(new String[0]));
                long v = 3 + series;
                switch (f.type()) {
                    case COUNTER -> r.counter(id.encode()).inc(v);
                    case GAUGE -> r.register(id.encode(), (Gauge<Long>) () -> v);
                    case HISTOGRAM -> {
                        BucketHistogram h = r.register(id.encode(), new BucketHistogram(f.bucketArray()));
                        h.update(0.003);
                        h.update(0.07);
                        h.update(0.07);
                        h.update(1e6);   // into +Inf
                    }
                }
            }
        }
        // metrics other bundles might register under plain Dropwizard names
        r.timer("org.example.plugin.latency").update(java.time.Duration.ofMillis(20));
        r.meter("org.example.plugin.events").mark(5);
        r.histogram("org.example.plugin.sizes").update(12);
        r.register("org.example.plugin.up", (Gauge<Boolean>) () -> true);
        r.register("org.example.plugin.name", (Gauge<String>) () -> "not a number");
        r.register("org.example.weird-name{broken", (Gauge<Integer>) () -> 1);
        return r;
    }
}
