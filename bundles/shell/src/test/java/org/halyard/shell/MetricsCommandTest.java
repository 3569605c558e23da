package org.halyard.shell;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.junit.jupiter.api.Test;

class MetricsCommandTest {

    static MetricRegistry registry() {
        MetricRegistry r = new MetricRegistry();
        r.counter(HalyardMetrics.REQUESTS.id("demo", "interactive", "ok").encode()).inc(10);
        r.counter(HalyardMetrics.REQUESTS.id("demo", "interactive", "rejected").encode()).inc(2);
        r.counter(HalyardMetrics.REQUESTS.id("demo", "batch", "ok").encode()).inc(3);
        r.counter(HalyardMetrics.TOKENS.id("demo", "interactive", "input").encode()).inc(1234);
        BucketHistogram e2e = r.register(HalyardMetrics.REQUEST_DURATION.id("demo", "interactive", "ok").encode(),
                new BucketHistogram(HalyardMetrics.REQUEST_DURATION.bucketArray()));
        BucketHistogram ttft = r.register(HalyardMetrics.TIME_TO_FIRST_TOKEN.id("demo", "interactive").encode(),
                new BucketHistogram(HalyardMetrics.TIME_TO_FIRST_TOKEN.bucketArray()));
        for (int i = 0; i < 10; i++) {
            e2e.update(0.3);
            ttft.update(0.015);   // in (0.01, 0.02]: p50 interpolates to 15 ms
        }
        r.register(HalyardMetrics.SCHEDULER_REQUESTS.id("demo", "interactive", "running").encode(), (Gauge<Integer>) () -> 4);
        r.register(HalyardMetrics.KV_CAPACITY.id("demo").encode(), (Gauge<Long>) () -> 64L << 20);
        r.register(HalyardMetrics.KV_BLOCKS.id("demo", "used").encode(), (Gauge<Long>) () -> 17L);
        r.register(HalyardMetrics.KV_PREFIX_HIT_RATIO.id("demo").encode(), (Gauge<Double>) () -> 0.25);
        r.register(HalyardMetrics.HEAP_USED.id().encode(), (Gauge<Long>) () -> 300L << 20);
        r.register(HalyardMetrics.HEAP_LIMIT.id().encode(), (Gauge<Long>) () -> 2L << 30);
        r.counter(HalyardMetrics.ROUTER_TOKENS.id("demo", "0").encode()).inc(100);
        r.register(HalyardMetrics.ROUTER_ENTROPY.id("demo", "0").encode(), (Gauge<Double>) () -> 69.0);
        r.counter(HalyardMetrics.EXPERT_TOKENS.id("demo", "0", "0").encode()).inc(150);
        r.counter(HalyardMetrics.EXPERT_TOKENS.id("demo", "0", "1").encode()).inc(50);
        return r;
    }

    private static String run(MetricsCommand c) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        c.setNoFormat(true);
        c.print(registry(), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        // cells as "a|b|c", whatever the padding
        return bytes.toString(StandardCharsets.UTF_8).replaceAll(" *\t *", "|").replaceAll("(?m)^ +", "");
    }

    @Test
    void summarisesPerModelAndMode() {
        String out = run(new MetricsCommand());
        assertTrue(out.contains("demo|interactive|10|2|0|0|0|4|0|1234"), out);
        assertTrue(out.contains("demo|batch|3|0"), out);
        assertTrue(out.contains("15.0 ms"), "TTFT p50 from the buckets: " + out);
        assertTrue(out.contains("64.0 MiB"), out);
        assertTrue(out.contains("25.0%"), out);
        assertTrue(out.contains("heap in use|300.0 MiB|2.0 GiB"), out);
        assertTrue(out.contains("0.690 nats"), "mean router entropy: " + out);
        assertTrue(out.contains("demo|0|100|0.690 nats|0|1.50"), "max/mean expert load: " + out);
        assertTrue(out.contains("heap live after GC|-|2.0 GiB"), "unknown figures show as '-': " + out);
    }

    @Test
    void filtersByMode() {
        MetricsCommand c = new MetricsCommand();
        c.filter(null, "batch");
        String out = run(c);
        assertTrue(out.contains("demo|batch"), out);
        assertFalse(out.contains("demo|interactive"), out);
    }
}
