/**
 * The telemetry SPI: the serving layer reports each finished request and each engine step to
 * {@link Telemetry}, which keeps the metrics (a Dropwizard registry, published as a service) and
 * passes request records to every {@link RequestListener}: the exporters.
 *
 * <pre>
 *   Scheduler / modes ─ RequestRecord, StepRecord ─▶ Telemetry ─┬─▶ MetricRegistry ─▶ Prometheus, OTLP metrics
 *                                                              └─▶ RequestListener* ─▶ JSON log, OTLP spans
 * </pre>
 */
@Export
@Version("1.0.0")
package org.halyard.telemetry.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
