package org.halyard.exporter.prometheus.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.junit.jupiter.api.Test;

class RegistryCollectorTest {

    private static String text(MetricRegistry r) {
        return PrometheusTextFormatWriter.create().toDebugString(RegistryCollector.collect(r, n -> true),
                EscapingScheme.UNDERSCORE_ESCAPING);
    }

    @Test
    void namesTakePrometheusFormWithBaseUnits() {
        assertEquals("gen_ai_server_time_to_first_token_seconds", RegistryCollector.prometheusName(HalyardMetrics.TIME_TO_FIRST_TOKEN));
        assertEquals("gen_ai_server_request_duration_seconds", RegistryCollector.prometheusName(HalyardMetrics.REQUEST_DURATION));
        assertEquals("halyard_memory_heap_used_bytes", RegistryCollector.prometheusName(HalyardMetrics.HEAP_USED));
        assertEquals("halyard_kvcache_prefix_cache_hit_ratio", RegistryCollector.prometheusName(HalyardMetrics.KV_PREFIX_HIT_RATIO));
        assertEquals("halyard_server_requests", RegistryCollector.prometheusName(HalyardMetrics.REQUESTS));
    }

    @Test
    void histogramsCarryTheGenAiBucketsCumulativelyWithSumAndCount() {
        MetricRegistry r = new MetricRegistry();
        BucketHistogram h = r.register(HalyardMetrics.TIME_TO_FIRST_TOKEN.id("demo", "interactive").encode(),
                new BucketHistogram(HalyardMetrics.TIME_TO_FIRST_TOKEN.bucketArray()));
        h.update(0.003);
        h.update(0.05);
        h.update(0.05);
        h.update(30);
        String out = text(r);
        assertTrue(out.contains("# TYPE gen_ai_server_time_to_first_token_seconds histogram"), out);
        assertTrue(out.contains("gen_ai_server_time_to_first_token_seconds_bucket{mode=\"interactive\",model=\"demo\",le=\"0.001\"} 0"), out);
        assertTrue(out.contains("gen_ai_server_time_to_first_token_seconds_bucket{mode=\"interactive\",model=\"demo\",le=\"0.005\"} 1"), out);
        assertTrue(out.contains("gen_ai_server_time_to_first_token_seconds_bucket{mode=\"interactive\",model=\"demo\",le=\"0.06\"} 3"), out);
        assertTrue(out.contains("gen_ai_server_time_to_first_token_seconds_bucket{mode=\"interactive\",model=\"demo\",le=\"10.0\"} 3"), out);
        assertTrue(out.contains("gen_ai_server_time_to_first_token_seconds_bucket{mode=\"interactive\",model=\"demo\",le=\"+Inf\"} 4"), out);
        assertTrue(out.contains("gen_ai_server_time_to_first_token_seconds_count{mode=\"interactive\",model=\"demo\"} 4"), out);
        assertTrue(out.contains("gen_ai_server_time_to_first_token_seconds_sum{mode=\"interactive\",model=\"demo\"} 30.103"), out);
    }

    @Test
    void countersGetTotalAndHelpFromTheCatalogue() {
        MetricRegistry r = new MetricRegistry();
        r.counter(HalyardMetrics.REQUESTS.id("demo", "batch", "ok").encode()).inc(7);
        String out = text(r);
        assertTrue(out.contains("# HELP halyard_server_requests_total Finished requests by outcome"), out);
        assertTrue(out.contains("# TYPE halyard_server_requests_total counter"), out);
        assertTrue(out.contains("halyard_server_requests_total{mode=\"batch\",model=\"demo\",outcome=\"ok\"} 7"), out);
    }

    @Test
    void everyCatalogueFamilyAndForeignMetricsAreExportedWithoutBreakingTheScrape() {
        MetricSnapshots s = RegistryCollector.collect(SampleRegistry.create(), n -> true);
        String out = PrometheusTextFormatWriter.create().toDebugString(s, EscapingScheme.UNDERSCORE_ESCAPING);
        for (var f : HalyardMetrics.ALL) {
            assertTrue(out.contains("# TYPE " + RegistryCollector.prometheusName(f)), f.name() + "\n" + out);
        }
        assertTrue(out.contains("org_example_plugin_latency_seconds{quantile=\"0.5\"} 0.02"), out);
        assertTrue(out.contains("org_example_plugin_events_total 5"), out);
        assertTrue(out.contains("org_example_plugin_up 1"), out);
        assertFalse(out.contains("not a number"), out);
        assertTrue(out.contains("org_example_weird_name_broken 1"), "a malformed name is made legal: " + out);
        // and the same snapshots make valid OpenMetrics
        String om = OpenMetricsTextFormatWriter.create().toDebugString(s, EscapingScheme.UNDERSCORE_ESCAPING);
        assertTrue(om.endsWith("# EOF\n"), om);
    }

    @Test
    void theNameFilterSelectsFamilies() {
        MetricSnapshots s = RegistryCollector.collect(SampleRegistry.create(),
                MetricsServlet.filter(new String[] {"halyard_server_requests_total", "halyard_memory_heap_used_bytes"}));
        assertEquals(2, s.size());
    }
}
