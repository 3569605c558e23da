package org.halyard.exporter.otlp.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.trace.v1.Span;
import java.lang.annotation.Annotation;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.halyard.core.api.Health;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.junit.jupiter.api.Test;

class OtlpExporterTest {

    static OtlpExporter.Config config(boolean enabled, String endpoint, String... headers) {
        return new OtlpExporter.Config() {
            @Override public Class<? extends Annotation> annotationType() { return OtlpExporter.Config.class; }
            @Override public boolean enabled() { return enabled; }
            @Override public String endpoint() { return endpoint; }
            @Override public String[] headers() { return headers; }
            @Override public boolean metrics() { return true; }
            @Override public boolean traces() { return true; }
            @Override public int exportIntervalSeconds() { return 3600; }   // the test flushes
            @Override public int timeoutSeconds() { return 5; }
            @Override public String compression() { return "gzip"; }
            @Override public String serviceName() { return "halyard-test"; }
            @Override public String[] resourceAttributes() { return new String[] {"deployment.environment.name=test"}; }
            @Override public int spanQueueSize() { return 64; }
            @Override public int retries() { return 0; }
        };
    }

    static MetricRegistry registry() {
        MetricRegistry r = new MetricRegistry();
        BucketHistogram ttft = r.register(HalyardMetrics.TIME_TO_FIRST_TOKEN.id("demo", "interactive").encode(),
                new BucketHistogram(HalyardMetrics.TIME_TO_FIRST_TOKEN.bucketArray()));
        ttft.update(0.03);
        ttft.update(0.2);
        r.counter(HalyardMetrics.REQUESTS.id("demo", "interactive", "ok").encode()).inc(2);
        r.counter(HalyardMetrics.REQUESTS.id("demo", "interactive", "rejected").encode()).inc(1);
        r.register(HalyardMetrics.HEAP_USED.id().encode(), (Gauge<Long>) () -> 12345L);
        return r;
    }

    static RequestRecord record() {
        return new RequestRecord("req-1", "acme", "interactive", "demo", "/v1/chat/completions", Outcome.OK, "stop",
                200, 12, 4, 5, Instant.parse("2025-03-01T10:00:00Z"), Duration.ofMillis(3), Duration.ofMillis(30),
                Duration.ofMillis(130), List.of(), "secret prompt", "secret output", Map.of());
    }

    private static String attr(List<KeyValue> kvs, String key) {
        return kvs.stream().filter(kv -> kv.getKey().equals(key)).findFirst().map(KeyValue::getValue)
                .map(OtlpExporterTest::text).orElse(null);
    }

    private static String text(AnyValue v) {
        return switch (v.getValueCase()) {
            case STRING_VALUE -> v.getStringValue();
            case INT_VALUE -> Long.toString(v.getIntValue());
            case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
            case ARRAY_VALUE -> v.getArrayValue().getValuesList().stream().map(OtlpExporterTest::text)
                    .collect(Collectors.joining(","));
            default -> v.toString();
        };
    }

    @Test
    void metricsAndSpansArriveAtACollectorAsOtlpProtobuf() throws Exception {
        try (OtlpReceiver collector = new OtlpReceiver()) {
            OtlpExporter e = new OtlpExporter(config(true, collector.endpoint(), "authorization=Bearer t0ken"));
            e.registry(registry());
            e.onRequest(record());
            e.flush();

            assertFalse(collector.metrics.isEmpty(), "metrics arrived");
            var rm = collector.metrics.get(0).getResourceMetrics(0);
            assertEquals("halyard-test", attr(rm.getResource().getAttributesList(), "service.name"));
            assertEquals("test", attr(rm.getResource().getAttributesList(), "deployment.environment.name"));
            List<Metric> metrics = rm.getScopeMetrics(0).getMetricsList();
            Metric ttft = metrics.stream().filter(m -> m.getName().equals("gen_ai.server.time_to_first_token"))
                    .findFirst().orElseThrow(() -> new AssertionError("no TTFT in " + metrics));
            assertEquals("s", ttft.getUnit());
            assertTrue(ttft.hasHistogram());
            assertEquals(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE, ttft.getHistogram().getAggregationTemporality());
            HistogramDataPoint p = ttft.getHistogram().getDataPoints(0);
            assertEquals(HalyardMetrics.TTFT_BUCKETS, p.getExplicitBoundsList());
            assertEquals(2, p.getCount());
            assertEquals(0.23, p.getSum(), 1e-9);
            assertEquals(HalyardMetrics.TTFT_BUCKETS.size() + 1, p.getBucketCountsCount());
            assertEquals("demo", attr(p.getAttributesList(), "gen_ai.request.model"));
            assertEquals("interactive", attr(p.getAttributesList(), "halyard.mode"));

            Metric requests = metrics.stream().filter(m -> m.getName().equals("halyard.server.requests")).findFirst().orElseThrow();
            assertTrue(requests.getSum().getIsMonotonic());
            Optional<NumberDataPoint> rejected = requests.getSum().getDataPointsList().stream()
                    .filter(d -> "rejected".equals(attr(d.getAttributesList(), "halyard.outcome"))).findFirst();
            assertEquals(1.0, rejected.orElseThrow().getAsDouble());
            assertEquals("rejected", attr(rejected.get().getAttributesList(), "error.type"));
            assertTrue(metrics.stream().anyMatch(m -> m.getName().equals("halyard.memory.heap.used") && m.hasGauge()));

            assertFalse(collector.traces.isEmpty(), "spans arrived");
            Span span = collector.traces.get(0).getResourceSpans(0).getScopeSpans(0).getSpans(0);
            assertEquals("chat demo", span.getName());
            assertEquals(Span.SpanKind.SPAN_KIND_SERVER, span.getKind());
            assertEquals(130_000_000L, span.getEndTimeUnixNano() - span.getStartTimeUnixNano());
            assertEquals("chat", attr(span.getAttributesList(), "gen_ai.operation.name"));
            assertEquals("demo", attr(span.getAttributesList(), "gen_ai.request.model"));
            assertEquals("12", attr(span.getAttributesList(), "gen_ai.usage.input_tokens"));
            assertEquals("5", attr(span.getAttributesList(), "gen_ai.usage.output_tokens"));
            assertEquals("stop", attr(span.getAttributesList(), "gen_ai.response.finish_reasons"));
            assertEquals("gen_ai.first_token", span.getEvents(0).getName());
            String everything = collector.traces.toString();
            assertFalse(everything.contains("secret") || everything.contains("acme"), "no content, no tenant in spans");

            assertTrue(collector.headers.stream().allMatch(h -> List.of("Bearer t0ken").equals(h.get("Authorization"))),
                    "configured headers travel: " + collector.headers);
            assertEquals(Health.Status.UP, e.health().get(0).status());
            e.deactivate();
        }
    }

    @Test
    void disabledItExportsNothing() throws Exception {
        try (OtlpReceiver collector = new OtlpReceiver()) {
            OtlpExporter e = new OtlpExporter(config(false, collector.endpoint()));
            e.registry(registry());
            e.onRequest(record());
            e.flush();
            assertTrue(collector.metrics.isEmpty() && collector.traces.isEmpty());
            assertTrue(e.health().get(0).detail().contains("disabled"));
            e.deactivate();
        }
    }

    @Test
    void anUnreachableCollectorIsHarmlessAndShowsInHealth() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        OtlpExporter e = new OtlpExporter(config(true, "http://127.0.0.1:" + closed));
        e.registry(registry());
        e.onRequest(record());
        e.flush();
        Health h = e.health().get(0);
        assertEquals(Health.Status.DEGRADED, h.status());
        assertTrue(h.ready(), "an exporter never takes the node out of service");
        e.deactivate();
    }

    @Test
    void reconfiguringMovesExportsToTheNewEndpointLive() throws Exception {
        try (OtlpReceiver a = new OtlpReceiver(); OtlpReceiver b = new OtlpReceiver()) {
            OtlpExporter e = new OtlpExporter(config(true, a.endpoint()));
            e.registry(registry());
            e.onRequest(record());
            e.flush();
            int atA = a.traces.size();
            e.configure(config(true, b.endpoint()));
            e.onRequest(record());
            e.flush();
            assertTrue(atA > 0);
            assertEquals(atA, a.traces.size(), "nothing more to the old endpoint");
            assertFalse(b.traces.isEmpty());
            e.deactivate();
        }
    }

    @Test
    void badHeadersAreReportedNotThrown() {
        OtlpExporter e = new OtlpExporter(config(true, "http://127.0.0.1:4318", "no-equals-sign"));
        assertEquals(Health.Status.DEGRADED, e.health().get(0).status());
        assertTrue(e.health().get(0).detail().contains("name=value"), e.health().get(0).detail());
        e.deactivate();
    }
}
