package org.halyard.exporter.otlp.impl;

import com.codahale.metrics.MetricRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.metrics.MeterProvider;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.common.ComponentLoader;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.sender.jdk.internal.JdkHttpSenderProvider;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.export.HttpSenderProvider;
import io.opentelemetry.sdk.common.export.RetryPolicy;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestListener;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exports Halyard's metrics, and one span per request with the OpenTelemetry GenAI attributes,
 * over OTLP/HTTP (protobuf) through the OpenTelemetry SDK, to a collector configured in
 * {@code etc/org.halyard.exporter.otlp.cfg}. Off until {@code enabled = true}: the distribution
 * installs it, and an operator points it at a collector.
 *
 * <p>Spans carry no prompt or output text and no tenant: content goes only through the JSON
 * log's privacy filter. An unreachable collector costs nothing but the dropped batches, which the
 * health report shows ({@code exporter/otlp} DEGRADED, still ready).
 *
 * <p>Threads: the SDK's periodic metric reader runs on an executor this component owns, the
 * JDK HTTP client on another; the SDK's span batcher has its own worker thread. All stop when the
 * SDK is shut down (reconfiguration, deactivation).
 */
@Component(configurationPid = OtlpExporter.PID, service = {RequestListener.class, HealthContributor.class},
        property = {RequestListener.NAME + "=otlp", HealthContributor.COMPONENT + "=exporter/otlp"})
@Designate(ocd = OtlpExporter.Config.class)
public class OtlpExporter implements RequestListener, HealthContributor {

    /** The configuration PID. */
    public static final String PID = "org.halyard.exporter.otlp";

    private static final Logger LOG = LoggerFactory.getLogger(OtlpExporter.class);

    /** The OTLP exporter's configuration. */
    @ObjectClassDefinition(name = "Halyard OTLP exporter",
            description = "Metrics and request spans to an OpenTelemetry collector over OTLP/HTTP")
    public @interface Config {

        @AttributeDefinition(description = "Export at all; off by default until a collector is configured")
        boolean enabled() default false;

        @AttributeDefinition(description = "The collector's OTLP/HTTP base URL; /v1/metrics and /v1/traces are added")
        String endpoint() default "http://127.0.0.1:4318";

        @AttributeDefinition(description = "Headers sent with every export, as name=value (for example an "
                + "authorization token)")
        String[] headers() default {};

        @AttributeDefinition(description = "Export metrics")
        boolean metrics() default true;

        @AttributeDefinition(description = "Export one span per request")
        boolean traces() default true;

        @AttributeDefinition(description = "How often metrics are exported (seconds)")
        int exportIntervalSeconds() default 30;

        @AttributeDefinition(description = "How long one export may take (seconds)")
        int timeoutSeconds() default 10;

        @AttributeDefinition(description = "Payload compression: gzip or none")
        String compression() default "gzip";

        @AttributeDefinition(description = "service.name of the resource")
        String serviceName() default "halyard";

        @AttributeDefinition(description = "Further resource attributes, as name=value (for example "
                + "deployment.environment.name=prod)")
        String[] resourceAttributes() default {};

        @AttributeDefinition(description = "Spans that may wait for export; more are dropped")
        int spanQueueSize() default 2048;

        @AttributeDefinition(description = "Retries of a failed export, with exponential backoff (0 to 4; "
                + "0 drops a batch at the first failure)")
        int retries() default 4;
    }

    /** The SDK pipelines of one configuration. */
    private record Pipelines(SdkMeterProvider meters, SdkTracerProvider traces, Tracer tracer,
            ScheduledExecutorService reader, ExecutorService http, String endpoint) {

        void shutdown() {
            List<CompletableResultCode> done = new ArrayList<>();
            if (meters != null) {
                done.add(meters.shutdown());
            }
            if (traces != null) {
                done.add(traces.shutdown());
            }
            CompletableResultCode.ofAll(done).join(5, TimeUnit.SECONDS);
            reader.shutdownNow();
            http.shutdownNow();
        }
    }

    private final Object lock = new Object();
    private final AtomicLong spans = new AtomicLong();
    private final AtomicLong exports = new AtomicLong();
    private final AtomicLong failedExports = new AtomicLong();
    private volatile Pipelines pipelines;
    private volatile String lastError;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, target = "(" + HalyardMetrics.REGISTRY + "=*)")
    private volatile MetricRegistry registry;

    @Activate
    public OtlpExporter(Config config) {
        configure(config);
    }

    /** For tests: what DS would inject. */
    void registry(MetricRegistry registry) {
        this.registry = registry;
    }

    @Modified
    void configure(Config config) {
        synchronized (lock) {
            Pipelines old = pipelines;
            pipelines = null;
            if (old != null) {
                old.shutdown();
            }
            lastError = null;
            if (config.enabled()) {
                try {
                    pipelines = start(config);
                    LOG.info("OTLP exporter: exporting {}{} to {}", config.metrics() ? "metrics" : "",
                            config.traces() ? (config.metrics() ? " and spans" : "spans") : "", config.endpoint());
                } catch (RuntimeException e) {
                    lastError = e.toString();
                    LOG.warn("OTLP exporter: cannot start with endpoint {}", config.endpoint(), e);
                }
            }
        }
    }

    @Deactivate
    void deactivate() {
        synchronized (lock) {
            Pipelines old = pipelines;
            pipelines = null;
            if (old != null) {
                old.shutdown();
            }
        }
    }

    private Pipelines start(Config c) {
        String base = c.endpoint().endsWith("/") ? c.endpoint().substring(0, c.endpoint().length() - 1) : c.endpoint();
        Map<String, String> headers = pairs(c.headers(), "headers");
        Duration timeout = Duration.ofSeconds(Math.max(1, c.timeoutSeconds()));
        String compression = "none".equalsIgnoreCase(c.compression()) ? "none" : "gzip";
        RetryPolicy retry = c.retries() <= 0 ? null
                : RetryPolicy.builder().setMaxAttempts(Math.min(5, c.retries() + 1)).build();
        AttributesBuilder resourceAttributes = Attributes.builder()
                .put(AttributeKey.stringKey("service.name"), c.serviceName())
                .put(AttributeKey.stringKey("telemetry.sdk.name"), "opentelemetry")
                .put(AttributeKey.stringKey("telemetry.sdk.language"), "java");
        pairs(c.resourceAttributes(), "resourceAttributes").forEach(resourceAttributes::put);
        Resource resource = Resource.create(resourceAttributes.build());
        // the SDK finds its HTTP sender through ServiceLoader by default, which sees nothing of
        // what is embedded in a bundle: hand it the JDK sender directly
        ComponentLoader loader = new ComponentLoader() {
            @Override
            @SuppressWarnings("unchecked")
            public <T> Iterable<T> load(Class<T> spi) {
                return spi == HttpSenderProvider.class ? List.of((T) new JdkHttpSenderProvider()) : List.of();
            }
        };
        ScheduledExecutorService reader = Executors.newSingleThreadScheduledExecutor(r -> thread(r, "halyard-otlp-metrics"));
        ExecutorService http = Executors.newFixedThreadPool(2, r -> thread(r, "halyard-otlp-http"));
        SdkMeterProvider meters = null;
        SdkTracerProvider traces = null;
        Tracer tracer = null;
        try {
            if (c.metrics()) {
                MetricExporter exporter = OtlpHttpMetricExporter.builder().setEndpoint(base + "/v1/metrics")
                        .setTimeout(timeout).setCompression(compression).setHeaders(() -> headers).setRetryPolicy(retry)
                        .setComponentLoader(loader).setExecutorService(http).setMeterProvider(MeterProvider::noop)
                        .build();
                meters = SdkMeterProvider.builder().setResource(resource)
                        .registerMetricProducer(new RegistryMetricProducer(() -> registry))
                        .registerMetricReader(PeriodicMetricReader.builder(new CountingMetricExporter(exporter))
                                .setInterval(Duration.ofSeconds(Math.max(1, c.exportIntervalSeconds())))
                                .setExecutor(reader).build())
                        .build();
            }
            if (c.traces()) {
                SpanExporter exporter = OtlpHttpSpanExporter.builder().setEndpoint(base + "/v1/traces")
                        .setTimeout(timeout).setCompression(compression).setHeaders(() -> headers).setRetryPolicy(retry)
                        .setComponentLoader(loader).setExecutorService(http).setMeterProvider(MeterProvider::noop)
                        .build();
                traces = SdkTracerProvider.builder().setResource(resource)
                        .addSpanProcessor(BatchSpanProcessor.builder(new CountingSpanExporter(exporter))
                                .setMaxQueueSize(Math.max(16, c.spanQueueSize()))
                                .setScheduleDelay(Duration.ofSeconds(1)).setMeterProvider(MeterProvider::noop).build())
                        .build();
                tracer = traces.get("org.halyard.telemetry");
            }
        } catch (RuntimeException e) {
            if (meters != null) {
                meters.shutdown();
            }
            reader.shutdownNow();
            http.shutdownNow();
            throw e;
        }
        return new Pipelines(meters, traces, tracer, reader, http, base);
    }

    private static Thread thread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    static Map<String, String> pairs(String[] entries, String what) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String e : list(entries)) {
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(what + ": expected name=value, got '" + e + "'");
            }
            m.put(e.substring(0, eq).trim(), e.substring(eq + 1).trim());
        }
        return m;
    }

    /**
     * The values of a list property: Karaf's {@code .cfg} files give a list as one
     * comma-separated string, ConfigAdmin and the shell as an array; both work.
     */
    static List<String> list(String[] values) {
        List<String> out = new ArrayList<>();
        if (values != null) {
            for (String v : values) {
                for (String part : v.split(",")) {
                    if (!part.isBlank()) {
                        out.add(part.trim());
                    }
                }
            }
        }
        return out;
    }

    /** Forces the pending metrics and spans out now (tests, shutdown). */
    void flush() {
        Pipelines p = pipelines;
        if (p != null) {
            List<CompletableResultCode> done = new ArrayList<>();
            if (p.meters() != null) {
                done.add(p.meters().forceFlush());
            }
            if (p.traces() != null) {
                done.add(p.traces().forceFlush());
            }
            CompletableResultCode.ofAll(done).join(10, TimeUnit.SECONDS);
        }
    }

    // ---- spans ------------------------------------------------------------------------------

    @Override
    public void onRequest(RequestRecord r) {
        Pipelines p = pipelines;
        if (p == null || p.tracer() == null) {
            return;
        }
        String operation = operation(r.endpoint());
        Instant start = r.start();
        Span span = p.tracer().spanBuilder(operation + (r.model().isEmpty() ? "" : " " + r.model()))
                .setSpanKind(SpanKind.SERVER).setStartTimestamp(start).setNoParent()
                .setAllAttributes(spanAttributes(r, operation)).startSpan();
        if (r.timeToFirstToken() != null) {
            span.addEvent("gen_ai.first_token", start.plus(r.timeToFirstToken()));
        }
        if (r.outcome() == Outcome.ERROR || r.httpStatus() >= 500) {
            span.setStatus(StatusCode.ERROR, r.finishReason());
        }
        span.end(start.plus(r.totalTime()));
        spans.incrementAndGet();
    }

    /** The GenAI operation of an API path. */
    static String operation(String endpoint) {
        if (endpoint.contains("chat")) {
            return "chat";
        }
        if (endpoint.contains("completions")) {
            return "text_completion";
        }
        if (endpoint.contains("embeddings")) {
            return "embeddings";
        }
        return "generate_content";
    }

    static Attributes spanAttributes(RequestRecord r, String operation) {
        AttributesBuilder b = Attributes.builder()
                .put("gen_ai.operation.name", operation)
                .put("gen_ai.provider.name", "halyard")
                .put("gen_ai.response.id", r.requestId())
                .put("gen_ai.usage.input_tokens", r.promptTokens())
                .put("gen_ai.usage.output_tokens", r.outputTokens())
                .put("gen_ai.usage.cache_read.input_tokens", r.cachedTokens())
                .put("halyard.mode", r.mode())
                .put("halyard.outcome", r.outcome().label())
                .put("halyard.queue_time", r.queueTime().toNanos() / 1e9)
                .put("http.response.status_code", r.httpStatus());
        if (!r.model().isEmpty()) {
            b.put("gen_ai.request.model", r.model()).put("gen_ai.response.model", r.model());
        }
        if (!r.finishReason().isEmpty()) {
            b.put(AttributeKey.stringArrayKey("gen_ai.response.finish_reasons"), List.of(r.finishReason()));
        }
        if (!r.endpoint().isEmpty()) {
            b.put("url.path", r.endpoint());
        }
        if (r.timeToFirstToken() != null) {
            b.put("gen_ai.server.time_to_first_token", r.timeToFirstToken().toNanos() / 1e9);
        }
        if (r.outcome() != Outcome.OK) {
            b.put("error.type", r.outcome().label());
        }
        if (!r.verdicts().isEmpty()) {
            b.put(AttributeKey.stringArrayKey("halyard.safety.verdicts"), r.verdicts());
        }
        return b.build();
    }

    // ---- health -----------------------------------------------------------------------------

    @Override
    public List<Health> health() {
        Pipelines p = pipelines;
        Map<String, String> attrs = Map.of("spans", Long.toString(spans.get()), "exports", Long.toString(exports.get()),
                "failedExports", Long.toString(failedExports.get()));
        String error = lastError;
        if (p == null) {
            return List.of(error == null ? Health.up("exporter/otlp", "disabled (enabled = false)")
                    : new Health("exporter/otlp", Health.Status.DEGRADED, true, "not started: " + error, attrs));
        }
        if (error != null) {
            return List.of(new Health("exporter/otlp", Health.Status.DEGRADED, true,
                    "last export to " + p.endpoint() + " failed: " + error, attrs));
        }
        return List.of(Health.up("exporter/otlp", "exporting to " + p.endpoint()).with(attrs));
    }

    private void completed(CompletableResultCode result, String what) {
        result.whenComplete(() -> {
            exports.incrementAndGet();
            if (result.isSuccess()) {
                lastError = null;
            } else {
                failedExports.incrementAndGet();
                Throwable t = result.getFailureThrowable();
                lastError = what + ": " + (t == null ? "rejected or unreachable" : t.toString());
            }
        });
    }

    /** Counts the outcome of every metric export for the health report. */
    private final class CountingMetricExporter implements MetricExporter {
        private final MetricExporter delegate;

        CountingMetricExporter(MetricExporter delegate) {
            this.delegate = delegate;
        }

        @Override
        public CompletableResultCode export(Collection<MetricData> metrics) {
            CompletableResultCode r = delegate.export(metrics);
            completed(r, "metrics");
            return r;
        }

        @Override
        public AggregationTemporality getAggregationTemporality(InstrumentType type) {
            return delegate.getAggregationTemporality(type);
        }

        @Override
        public CompletableResultCode flush() {
            return delegate.flush();
        }

        @Override
        public CompletableResultCode shutdown() {
            return delegate.shutdown();
        }
    }

    /** Counts the outcome of every span export for the health report. */
    private final class CountingSpanExporter implements SpanExporter {
        private final SpanExporter delegate;

        CountingSpanExporter(SpanExporter delegate) {
            this.delegate = delegate;
        }

        @Override
        public CompletableResultCode export(Collection<SpanData> batch) {
            CompletableResultCode r = delegate.export(batch);
            completed(r, "spans");
            return r;
        }

        @Override
        public CompletableResultCode flush() {
            return delegate.flush();
        }

        @Override
        public CompletableResultCode shutdown() {
            return delegate.shutdown();
        }
    }
}
