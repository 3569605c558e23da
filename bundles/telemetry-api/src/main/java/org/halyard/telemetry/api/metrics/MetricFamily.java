package org.halyard.telemetry.api.metrics;

import java.util.List;
import java.util.Objects;

/**
 * What one metric family is, as exporters describe it.
 *
 * @param name the OpenTelemetry-style name ({@code gen_ai.server.time_to_first_token})
 * @param type counter, gauge or histogram
 * @param unit the UCUM unit as OpenTelemetry writes it: {@code s}, {@code By}, {@code 1}, or an
 *     annotation such as {@code {token}} (exporters to Prometheus turn {@code s} into a
 *     {@code _seconds} suffix, {@code By} into {@code _bytes}, {@code 1} into {@code _ratio}, and
 *     drop annotations)
 * @param description what it measures, one sentence
 * @param labels the label keys its series carry
 * @param buckets the bucket boundaries of a histogram; empty otherwise
 */
public record MetricFamily(String name, Type type, String unit, String description, List<String> labels,
        List<Double> buckets) {

    /** How a family's values behave. */
    public enum Type {
        /** Only goes up (resets when the process or the source restarts). */
        COUNTER,
        /** A value now. */
        GAUGE,
        /** Observations counted into fixed buckets ({@link BucketHistogram}). */
        HISTOGRAM
    }

    public MetricFamily {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        unit = unit == null ? "" : unit;
        description = description == null ? "" : description;
        labels = labels == null ? List.of() : List.copyOf(labels);
        buckets = buckets == null ? List.of() : List.copyOf(buckets);
        if ((type == Type.HISTOGRAM) == buckets.isEmpty()) {
            throw new IllegalArgumentException(name + ": histograms, and only histograms, have buckets");
        }
    }

    /** The bucket boundaries as an array (empty unless a histogram). */
    public double[] bucketArray() {
        return buckets.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** A series of this family with the given label values, in the order of {@link #labels()}. */
    public MetricId id(String... labelValues) {
        if (labelValues.length != labels.size()) {
            throw new IllegalArgumentException(name + " takes labels " + labels + ", got " + labelValues.length + " values");
        }
        String[] kv = new String[labelValues.length * 2];
        for (int i = 0; i < labelValues.length; i++) {
            kv[2 * i] = labels.get(i);
            kv[2 * i + 1] = labelValues[i];
        }
        return MetricId.of(name, kv);
    }
}
