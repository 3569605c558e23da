package org.halyard.exporter.otlp.impl;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Metered;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Snapshot;
import com.codahale.metrics.Timer;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.Data;
import io.opentelemetry.sdk.metrics.data.DoublePointData;
import io.opentelemetry.sdk.metrics.data.GaugeData;
import io.opentelemetry.sdk.metrics.data.HistogramData;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.data.MetricDataType;
import io.opentelemetry.sdk.metrics.data.SumData;
import io.opentelemetry.sdk.metrics.data.SummaryData;
import io.opentelemetry.sdk.metrics.data.SummaryPointData;
import io.opentelemetry.sdk.metrics.data.ValueAtQuantile;
import io.opentelemetry.sdk.metrics.export.MetricProducer;
import io.opentelemetry.sdk.resources.Resource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.halyard.telemetry.api.metrics.MetricFamily;
import org.halyard.telemetry.api.metrics.MetricId;

/**
 * Reads Halyard's Dropwizard registry into OpenTelemetry metric data, for the SDK's periodic
 * reader to export: counters as cumulative monotonic sums, gauges as gauges, bucket histograms
 * as explicit-bucket histograms with the GenAI boundaries, foreign Dropwizard histograms and
 * timers as summaries. Names, units and descriptions come from the catalogue; labels become
 * attributes under their semantic-convention names ({@code model} becomes
 * {@code gen_ai.request.model}, {@code token_type} becomes {@code gen_ai.token.type}, others get
 * a {@code halyard.} prefix), and a non-ok outcome adds {@code error.type}.
 */
final class RegistryMetricProducer implements MetricProducer {

    static final InstrumentationScopeInfo SCOPE = InstrumentationScopeInfo.create("org.halyard.telemetry");

    private final Supplier<MetricRegistry> registry;
    private MetricRegistry seen;
    private long startEpochNanos;

    RegistryMetricProducer(Supplier<MetricRegistry> registry) {
        this.registry = registry;
    }

    /** The attribute key of a registry label. */
    static String attribute(String label) {
        return switch (label) {
            case HalyardMetrics.MODEL -> "gen_ai.request.model";
            case HalyardMetrics.TOKEN_TYPE -> "gen_ai.token.type";
            default -> "halyard." + label;
        };
    }

    @Override
    public synchronized Collection<MetricData> produce(Resource resource) {
        MetricRegistry r = registry.get();
        long now = TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis());
        if (r == null) {
            seen = null;
            return List.of();
        }
        if (r != seen) {
            // a new registry (telemetry restarted): cumulative series start again
            seen = r;
            startEpochNanos = now;
        }
        Map<String, List<Map.Entry<MetricId, Metric>>> families = new TreeMap<>();
        for (Map.Entry<String, Metric> e : r.getMetrics().entrySet()) {
            MetricId id;
            try {
                id = MetricId.parse(e.getKey());
            } catch (IllegalArgumentException malformed) {
                continue;
            }
            families.computeIfAbsent(id.name(), k -> new ArrayList<>()).add(Map.entry(id, e.getValue()));
        }
        List<MetricData> out = new ArrayList<>();
        for (Map.Entry<String, List<Map.Entry<MetricId, Metric>>> f : families.entrySet()) {
            MetricFamily family = HalyardMetrics.find(f.getKey()).orElse(null);
            MetricData d = convert(resource, f.getKey(), family, f.getValue(), now);
            if (d != null && !d.isEmpty()) {
                out.add(d);
            }
        }
        return out;
    }

    private MetricData convert(Resource resource, String name, MetricFamily family,
            List<Map.Entry<MetricId, Metric>> series, long now) {
        String description = family == null ? "Dropwizard metric " + name : family.description();
        String unit = family == null ? "" : family.unit();
        Metric first = series.get(0).getValue();
        if (first instanceof BucketHistogram) {
            List<HistogramPointData> points = new ArrayList<>();
            for (Map.Entry<MetricId, Metric> s : series) {
                if (s.getValue() instanceof BucketHistogram h) {
                    BucketHistogram.Snapshot snap = h.snapshot();
                    List<Double> bounds = new ArrayList<>();
                    for (double b : snap.upperBounds()) {
                        bounds.add(b);
                    }
                    List<Long> counts = new ArrayList<>();
                    for (long c : snap.counts()) {
                        counts.add(c);
                    }
                    points.add(HistogramPointData.create(startEpochNanos, now, attributes(s.getKey()), snap.sum(),
                            false, 0, false, 0, bounds, counts));
                }
            }
            return new RegistryMetric(resource, name, description, unit, MetricDataType.HISTOGRAM,
                    HistogramData.create(AggregationTemporality.CUMULATIVE, points));
        }
        if (first instanceof Timer || first instanceof Histogram) {
            List<SummaryPointData> points = new ArrayList<>();
            for (Map.Entry<MetricId, Metric> s : series) {
                Snapshot snap;
                long count;
                double scale = 1;
                if (s.getValue() instanceof Timer t) {
                    snap = t.getSnapshot();
                    count = t.getCount();
                    scale = 1e-9;
                } else if (s.getValue() instanceof Histogram h) {
                    snap = h.getSnapshot();
                    count = h.getCount();
                } else {
                    continue;
                }
                points.add(SummaryPointData.create(startEpochNanos, now, attributes(s.getKey()), count,
                        snap.getMean() * scale * count, List.of(
                                ValueAtQuantile.create(0.5, snap.getMedian() * scale),
                                ValueAtQuantile.create(0.95, snap.get95thPercentile() * scale),
                                ValueAtQuantile.create(0.99, snap.get99thPercentile() * scale))));
            }
            return new RegistryMetric(resource, name, description, first instanceof Timer ? "s" : unit,
                    MetricDataType.SUMMARY, SummaryData.create(points));
        }
        boolean counter = family != null ? family.type() == MetricFamily.Type.COUNTER
                : first instanceof Counter || first instanceof Metered;
        List<DoublePointData> points = new ArrayList<>();
        for (Map.Entry<MetricId, Metric> s : series) {
            Double v = value(s.getValue());
            if (v != null) {
                points.add(DoublePointData.create(counter ? startEpochNanos : now, now, attributes(s.getKey()), v, List.of()));
            }
        }
        if (counter) {
            return new RegistryMetric(resource, name, description, unit, MetricDataType.DOUBLE_SUM,
                    SumData.createDoubleSumData(true, AggregationTemporality.CUMULATIVE, points));
        }
        return new RegistryMetric(resource, name, description, unit, MetricDataType.DOUBLE_GAUGE,
                GaugeData.createDoubleGaugeData(points));
    }

    static Attributes attributes(MetricId id) {
        AttributesBuilder b = Attributes.builder();
        id.labels().forEach((k, v) -> b.put(attribute(k), v));
        String outcome = id.label(HalyardMetrics.OUTCOME);
        if (outcome != null && !outcome.equals("ok")) {
            b.put("error.type", outcome);
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
        if (v instanceof Number n && !Double.isNaN(n.doubleValue())) {
            return n.doubleValue();
        }
        if (v instanceof Boolean bool) {
            return bool ? 1.0 : 0.0;
        }
        return null;
    }

    /** One metric's data (the SDK's own implementation is internal). */
    private record RegistryMetric(Resource getResource, String getName, String getDescription, String getUnit,
            MetricDataType getType, Data<?> getData) implements MetricData {

        @Override
        public InstrumentationScopeInfo getInstrumentationScopeInfo() {
            return SCOPE;
        }
    }
}
