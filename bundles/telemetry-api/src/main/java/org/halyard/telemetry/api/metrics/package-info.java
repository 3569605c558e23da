/**
 * How Halyard's metrics are laid out in the Dropwizard {@code MetricRegistry} that the telemetry
 * bundle publishes as an OSGi service, so that exporters (Prometheus, OTLP, the shell) can read
 * them without depending on the telemetry bundle itself.
 *
 * <ul>
 *   <li>{@link MetricId}: a metric name in OpenTelemetry style plus a small set of labels,
 *       encoded into one Dropwizard name ({@code gen_ai.server.time_to_first_token{mode=chat,model=demo}}).</li>
 *   <li>{@link BucketHistogram}: a histogram with fixed bucket boundaries (Dropwizard's own
 *       histograms keep reservoirs and quantiles, which cannot be aggregated across nodes).</li>
 *   <li>{@link MetricFamily} and {@link HalyardMetrics}: the catalogue: each family's type,
 *       unit, description and bucket boundaries, and the label keys.</li>
 * </ul>
 *
 * <p>A Dropwizard {@code Gauge} whose family is a {@link MetricFamily.Type#COUNTER} is a
 * monotonic value read from elsewhere (for example KV cache hits since the cache was created);
 * exporters treat it as a counter.
 */
@Export
@Version("1.0.0")
package org.halyard.telemetry.api.metrics;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
