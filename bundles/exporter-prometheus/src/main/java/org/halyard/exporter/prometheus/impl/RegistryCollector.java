package org.halyard.exporter.prometheus.impl;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Metered;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Snapshot;
import com.codahale.metrics.Timer;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.PrometheusNaming;
import io.prometheus.metrics.model.snapshots.Quantiles;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.halyard.telemetry.api.metrics.MetricFamily;
import org.halyard.telemetry.api.metrics.MetricId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the Dropwizard registry into client_java snapshots: one family per metric name, labels
 * from the encoded name ({@link MetricId}), type, unit and help from Halyard's catalogue
 * ({@link HalyardMetrics}). Names take Prometheus form: dots become underscores, the base unit
 * becomes a suffix ({@code _seconds}, {@code _bytes}, {@code _ratio}), counters get
 * {@code _total} from the writer.
 *
 * <p>Metrics other bundles put in the registry under plain names are exported too: counters and
 * meters as counters, numeric gauges as gauges, Dropwizard histograms and timers as summaries
 * (timers in seconds).
 */
final class RegistryCollector {

    private static final Logger LOG = LoggerFactory.getLogger(RegistryCollector.class);

    private RegistryCollector() {
    }

    /** Prometheus' name of a family (without the {@code _total} a counter gets when written). */
    static String prometheusName(MetricFamily family) {
        return PrometheusNaming.sanitizeMetricName(PrometheusNaming.prometheusName(legal(family.name())),
                unit(family.unit()));
    }

    /**
     * The snapshots of every metric whose Prometheus name {@code include} accepts.
     */
    static MetricSnapshots collect(MetricRegistry registry, Predicate<String> include) {
        // family name -> series, in a stable order
        Map<String, List<Map.Entry<MetricId, Metric>>> families = new TreeMap<>();
        for (Map.Entry<String, Metric> e : registry.getMetrics().entrySet()) {
            MetricId id;
            try {
                id = MetricId.parse(e.getKey());
            } catch (IllegalArgumentException malformed) {
                id = new MetricId(e.getKey().replace('{', '_').replace('}', '_'), Map.of());
            }
            families.computeIfAbsent(id.name(), k -> new ArrayList<>()).add(Map.entry(id, e.getValue()));
        }
        List<MetricSnapshot> out = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        for (Map.Entry<String, List<Map.Entry<MetricId, Metric>>> f : families.entrySet()) {
            MetricFamily family = HalyardMetrics.find(f.getKey()).orElseGet(() -> foreign(f.getKey(), f.getValue()));
            if (family == null) {
                continue;
            }
            String name = prometheusName(family);
            if (!include.test(name) || !taken.add(name)) {
                continue;
            }
            try {
                MetricSnapshot s = snapshot(family, name, f.getValue());
                if (s != null && !s.getDataPoints().isEmpty()) {
                    out.add(s);
                }
            } catch (RuntimeException ex) {
                // one odd metric must not cost the whole scrape
                LOG.debug("Cannot export {}", f.getKey(), ex);
            }
        }
        return new MetricSnapshots(out);
    }

    /** The family of a metric outside Halyard's catalogue, from its Dropwizard type. */
    private static MetricFamily foreign(String name, List<Map.Entry<MetricId, Metric>> series) {
        Metric m = series.get(0).getValue();
        String help = "Dropwizard metric " + name;
        if (m instanceof Counter || m instanceof Metered && !(m instanceof Timer)) {
            return new MetricFamily(name, MetricFamily.Type.COUNTER, "", help, null, null);
        }
        if (m instanceof Gauge) {
            return new MetricFamily(name, MetricFamily.Type.GAUGE, "", help, null, null);
        }
        if (m instanceof BucketHistogram h) {
            List<Double> bounds = new ArrayList<>();
            for (double b : h.upperBounds()) {
                bounds.add(b);
            }
            return new MetricFamily(name, MetricFamily.Type.HISTOGRAM, "", help, null, bounds);
        }
        if (m instanceof Timer) {
            // a summary in seconds; the HISTOGRAM type with one dummy bucket marks "distribution"
            return new MetricFamily(name, MetricFamily.Type.HISTOGRAM, "s", help, null, List.of(1.0));
        }
        if (m instanceof Histogram) {
            return new MetricFamily(name, MetricFamily.Type.HISTOGRAM, "", help, null, List.of(1.0));
        }
        return null;
    }

    private static MetricSnapshot snapshot(MetricFamily family, String name, List<Map.Entry<MetricId, Metric>> series) {
        Unit unit = unit(family.unit());
        String help = family.description();
        switch (family.type()) {
            case COUNTER: {
                CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help).unit(unit);
                for (Map.Entry<MetricId, Metric> s : series) {
                    Double v = value(s.getValue());
                    if (v != null && v >= 0) {
                        b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(labels(s.getKey()))
                                .value(v).build());
                    }
                }
                return b.build();
            }
            case GAUGE: {
                GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help).unit(unit);
                for (Map.Entry<MetricId, Metric> s : series) {
                    Double v = value(s.getValue());
                    if (v != null) {
                        b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels(s.getKey()))
                                .value(v).build());
                    }
                }
                return b.build();
            }
            case HISTOGRAM:
            default:
                if (series.get(0).getValue() instanceof BucketHistogram) {
                    return histogram(name, help, unit, series);
                }
                return summary(name, help, unit, series);
        }
    }

    private static MetricSnapshot histogram(String name, String help, Unit unit, List<Map.Entry<MetricId, Metric>> series) {
        HistogramSnapshot.Builder b = HistogramSnapshot.builder().name(name).help(help).unit(unit);
        for (Map.Entry<MetricId, Metric> s : series) {
            if (!(s.getValue() instanceof BucketHistogram h)) {
                continue;
            }
            BucketHistogram.Snapshot snap = h.snapshot();
            double[] finite = snap.upperBounds();
            double[] bounds = new double[finite.length + 1];
            System.arraycopy(finite, 0, bounds, 0, finite.length);
            bounds[finite.length] = Double.POSITIVE_INFINITY;
            b.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder().labels(labels(s.getKey()))
                    .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, snap.counts())).sum(snap.sum()).build());
        }
        return b.build();
    }

    private static MetricSnapshot summary(String name, String help, Unit unit, List<Map.Entry<MetricId, Metric>> series) {
        SummarySnapshot.Builder b = SummarySnapshot.builder().name(name).help(help).unit(unit);
        for (Map.Entry<MetricId, Metric> s : series) {
            Snapshot snap;
            long count;
            double scale = 1;
            if (s.getValue() instanceof Timer t) {
                snap = t.getSnapshot();
                count = t.getCount();
                scale = 1.0 / TimeUnit.SECONDS.toNanos(1);
            } else if (s.getValue() instanceof Histogram h) {
                snap = h.getSnapshot();
                count = h.getCount();
            } else {
                continue;
            }
            Quantiles q = Quantiles.builder().quantile(0.5, snap.getMedian() * scale)
                    .quantile(0.95, snap.get95thPercentile() * scale).quantile(0.99, snap.get99thPercentile() * scale)
                    .build();
            b.dataPoint(SummarySnapshot.SummaryDataPointSnapshot.builder().labels(labels(s.getKey())).quantiles(q)
                    .count(count).sum(snap.getMean() * scale * count).build());
        }
        return b.build();
    }

    private static Double value(Metric m) {
        Object v;
        if (m instanceof Counter c) {
            v = c.getCount();
        } else if (m instanceof Metered meter) {
            v = meter.getCount();
        } else if (m instanceof Gauge<?> g) {
            try {
                v = g.getValue();
            } catch (RuntimeException e) {
                return null;
            }
        } else {
            return null;
        }
        if (v instanceof Number n) {
            double d = n.doubleValue();
            return Double.isNaN(d) ? null : d;
        }
        if (v instanceof Boolean bool) {
            return bool ? 1.0 : 0.0;
        }
        return null;
    }

    private static Labels labels(MetricId id) {
        if (id.labels().isEmpty()) {
            return Labels.EMPTY;
        }
        Labels.Builder b = Labels.builder();
        id.labels().forEach((k, v) -> b.label(PrometheusNaming.sanitizeLabelName(k), v));
        return b.build();
    }

    /** The base unit of an OpenTelemetry (UCUM) unit, or null for counts ({@code {token}}). */
    static Unit unit(String ucum) {
        return switch (ucum) {
            case "s" -> Unit.SECONDS;
            case "By" -> Unit.BYTES;
            case "1" -> Unit.RATIO;
            default -> null;
        };
    }

    /** Any name made legal: letters, digits, '_', ':' and '.'. */
    private static String legal(String name) {
        StringBuilder b = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            b.append(Character.isLetterOrDigit(c) && c < 128 || c == '_' || c == ':' || c == '.' ? c : '_');
        }
        if (b.length() == 0 || Character.isDigit(b.charAt(0))) {
            b.insert(0, '_');
        }
        return b.toString();
    }
}
