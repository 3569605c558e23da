package org.halyard.telemetry.impl;

import static org.halyard.telemetry.impl.Fakes.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.halyard.core.api.Health;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.serving.api.RequestStatus;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestListener;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.RouterLoad;
import org.halyard.telemetry.api.StepRecord;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.halyard.telemetry.api.metrics.MetricId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TelemetryComponentTest {

    private TelemetryComponent telemetry;

    private TelemetryComponent start(Map<String, Object> config) {
        telemetry = new TelemetryComponent(null, Configs.of(TelemetryComponent.Config.class, config));
        return telemetry;
    }

    @AfterEach
    void stop() {
        if (telemetry != null) {
            telemetry.deactivate();
        }
    }

    private BucketHistogram histogram(MetricId id) {
        return (BucketHistogram) telemetry.metricRegistry().getMetrics().get(id.encode());
    }

    private long count(MetricId id) {
        Counter c = telemetry.metricRegistry().getCounters().get(id.encode());
        return c == null ? -1 : c.getCount();
    }

    private Object gauge(MetricId id) {
        Gauge<?> g = telemetry.metricRegistry().getGauges().get(id.encode());
        return g == null ? null : g.getValue();
    }

    @Test
    void requestsUpdateHistogramsAndCountersPerModelAndMode() {
        start(Map.of("models", new String[] {"demo"}));
        telemetry.record(record("r1", "demo", "interactive", Outcome.OK, 10, 5, 3, 30L, 230));
        telemetry.record(record("r2", "demo", "interactive", Outcome.OK, 20, 1, 1, 15L, 15));
        telemetry.record(record("r3", "demo", "batch", Outcome.REJECTED, 7, 0, 0, null, 1));

        BucketHistogram ttft = histogram(HalyardMetrics.TIME_TO_FIRST_TOKEN.id("demo", "interactive"));
        assertEquals(2, ttft.getCount());
        assertEquals(0.045, ttft.snapshot().sum(), 1e-9);
        // r1: (230 - 30) ms over 4 tokens after the first = 50 ms; r2 has one token: no TPOT
        BucketHistogram tpot = histogram(HalyardMetrics.TIME_PER_OUTPUT_TOKEN.id("demo", "interactive"));
        assertEquals(1, tpot.getCount());
        assertEquals(0.05, tpot.snapshot().sum(), 1e-9);
        assertEquals(2, histogram(HalyardMetrics.REQUEST_DURATION.id("demo", "interactive", "ok")).getCount());
        assertEquals(2, histogram(HalyardMetrics.QUEUE_DURATION.id("demo", "interactive")).getCount());

        assertEquals(2, count(HalyardMetrics.REQUESTS.id("demo", "interactive", "ok")));
        assertEquals(0, count(HalyardMetrics.REQUESTS.id("demo", "interactive", "error")), "every outcome exists at 0");
        assertEquals(30, count(HalyardMetrics.TOKENS.id("demo", "interactive", "input")));
        assertEquals(6, count(HalyardMetrics.TOKENS.id("demo", "interactive", "output")));

        // a rejected request: counted and timed, never queued, no TTFT
        assertEquals(1, count(HalyardMetrics.REQUESTS.id("demo", "batch", "rejected")));
        assertEquals(0, histogram(HalyardMetrics.QUEUE_DURATION.id("demo", "batch")).getCount());
        assertEquals(0, histogram(HalyardMetrics.TIME_TO_FIRST_TOKEN.id("demo", "batch")).getCount());
    }

    @Test
    void unknownModelsAndModesAreCountedUnderOtherSoClientsCannotGrowTheSeries() {
        start(Map.of("models", new String[] {"demo"}));
        for (int i = 0; i < 50; i++) {
            telemetry.record(record("r" + i, "made-up-" + i, "mode-" + i, Outcome.REJECTED, 1, 0, 0, null, 1));
        }
        telemetry.record(record("none", "", "", Outcome.REJECTED, 1, 0, 0, null, 1));
        assertEquals(50, count(HalyardMetrics.REQUESTS.id("other", "other", "rejected")));
        assertEquals(1, count(HalyardMetrics.REQUESTS.id("none", "none", "rejected")));
        assertEquals(50, count(HalyardMetrics.LABEL_OVERFLOW.id("model")));
        assertEquals(50, count(HalyardMetrics.LABEL_OVERFLOW.id("mode")));
        for (String name : telemetry.metricRegistry().getNames()) {
            assertFalse(name.contains("made-up") || name.contains("tenant") || name.contains("r1"), name);
        }
    }

    @Test
    void listenersGetEveryRecordOnTheirOwnThreadNeverTheCallers() throws Exception {
        start(Map.of());
        List<String> threads = new CopyOnWriteArrayList<>();
        CountDownLatch all = new CountDownLatch(20);
        telemetry.bindListener(r -> {
            threads.add(Thread.currentThread().getName());
            all.countDown();
        }, Map.of(RequestListener.NAME, "probe"));
        for (int i = 0; i < 20; i++) {
            telemetry.record(record("r" + i, "demo", "interactive", Outcome.OK, 1, 1, 0, 1L, 1));
        }
        assertTrue(all.await(10, TimeUnit.SECONDS));
        assertEquals(20, threads.size());
        for (String t : threads) {
            assertNotEquals(Thread.currentThread().getName(), t);
            assertEquals("halyard-telemetry-probe", t);
        }
        assertEquals(List.of("probe"), telemetry.listeners());
    }

    @Test
    void aStuckListenerDelaysNeitherTheCallerNorOtherListenersAndItsOverflowIsCounted() throws Exception {
        start(Map.of("listenerQueueRecords", 5));
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch stuckEntered = new CountDownLatch(1);
        RequestListener stuck = r -> {
            stuckEntered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        java.util.concurrent.atomic.AtomicInteger healthy = new java.util.concurrent.atomic.AtomicInteger();
        telemetry.bindListener(stuck, Map.of(RequestListener.NAME, "stuck"));
        telemetry.bindListener(r -> healthy.incrementAndGet(), Map.of(RequestListener.NAME, "healthy"));
        telemetry.record(record("first", "demo", "interactive", Outcome.OK, 1, 1, 0, 1L, 1));
        assertTrue(stuckEntered.await(10, TimeUnit.SECONDS));
        for (int i = 1; i < 100; i++) {
            telemetry.record(record("r" + i, "demo", "interactive", Outcome.OK, 1, 1, 0, 1L, 1));
        }
        // the caller got through 100 records although one listener is blocked, and the other
        // listener got every record its (small) queue could hold
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (healthy.get() + count(HalyardMetrics.RECORDS_DROPPED.id("healthy")) < 100 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(100, healthy.get() + count(HalyardMetrics.RECORDS_DROPPED.id("healthy")));
        assertTrue(healthy.get() >= 6, "the healthy listener kept receiving: " + healthy.get());
        // the stuck one holds 1 in hand and 5 queued: the other 94 were dropped and counted
        assertEquals(94, count(HalyardMetrics.RECORDS_DROPPED.id("stuck")));
        release.countDown();
        telemetry.unbindListener(stuck);
        assertEquals(List.of("healthy"), telemetry.listeners());
    }

    @Test
    void aThrowingListenerLosesOnlyItsOwnRecordsAndIsCounted() throws Exception {
        start(Map.of());
        CountDownLatch other = new CountDownLatch(3);
        telemetry.bindListener(r -> {
            throw new IllegalStateException("exporter bug");
        }, Map.of(RequestListener.NAME, "broken"));
        telemetry.bindListener(r -> other.countDown(), Map.of(RequestListener.NAME, "fine"));
        for (int i = 0; i < 3; i++) {
            telemetry.record(record("r" + i, "demo", "interactive", Outcome.OK, 1, 1, 0, 1L, 1));
        }
        assertTrue(other.await(10, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (count(HalyardMetrics.LISTENER_FAILURES.id("broken")) < 3 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(3, count(HalyardMetrics.LISTENER_FAILURES.id("broken")));
    }

    @Test
    void aRemovedListenerGetsNothingMore() throws Exception {
        start(Map.of());
        List<RequestRecord> got = new CopyOnWriteArrayList<>();
        CountDownLatch one = new CountDownLatch(1);
        RequestListener l = r -> {
            got.add(r);
            one.countDown();
        };
        telemetry.bindListener(l, Map.of());
        telemetry.record(record("a", "demo", "interactive", Outcome.OK, 1, 1, 0, 1L, 1));
        assertTrue(one.await(10, TimeUnit.SECONDS));
        telemetry.unbindListener(l);
        telemetry.record(record("b", "demo", "interactive", Outcome.OK, 1, 1, 0, 1L, 1));
        Thread.sleep(100);
        assertEquals(1, got.size());
        assertTrue(telemetry.listeners().isEmpty());
    }

    @Test
    void stepsRecordDurationTokensAndMixtureOfExpertsRouting() {
        start(Map.of("models", new String[] {"moe"}));
        List<RouterLoad> routing = List.of(new RouterLoad(0, 6, new long[] {5, 3, 4, 0}, 6 * 0.9),
                new RouterLoad(1, 6, new long[] {12, 0, 0, 0}, 6 * 0.1));
        telemetry.step(new StepRecord("moe", 2, 4, 2, 3_000_000, routing));
        telemetry.step(new StepRecord("moe", 2, 0, 2, 1_000_000, routing));

        assertEquals(2, histogram(HalyardMetrics.STEP_DURATION.id("moe")).getCount());
        assertEquals(0.004, histogram(HalyardMetrics.STEP_DURATION.id("moe")).snapshot().sum(), 1e-9);
        assertEquals(4, count(HalyardMetrics.STEP_TOKENS.id("moe", "prefill")));
        assertEquals(4, count(HalyardMetrics.STEP_TOKENS.id("moe", "decode")));
        assertEquals(12, count(HalyardMetrics.ROUTER_TOKENS.id("moe", "0")));
        assertEquals(2 * 6 * 0.9, (Double) gauge(HalyardMetrics.ROUTER_ENTROPY.id("moe", "0")), 1e-9);
        assertEquals(10, count(HalyardMetrics.EXPERT_TOKENS.id("moe", "0", "0")));
        assertEquals(0, count(HalyardMetrics.EXPERT_TOKENS.id("moe", "0", "3")));
        assertEquals(24, count(HalyardMetrics.EXPERT_TOKENS.id("moe", "1", "0")));
    }

    @Test
    void expertLoadCanBeSummedOverLayers() {
        start(Map.of("models", new String[] {"moe"}, "expertLoadPerLayer", false));
        telemetry.step(new StepRecord("moe", 1, 0, 1, 1, List.of(new RouterLoad(0, 1, new long[] {1, 1}, 0.5),
                new RouterLoad(1, 1, new long[] {2, 0}, 0.5))));
        assertEquals(3, count(HalyardMetrics.EXPERT_TOKENS.id("moe", "all", "0")));
        assertEquals(-1, count(HalyardMetrics.EXPERT_TOKENS.id("moe", "0", "0")));
    }

    @Test
    void samplingPublishesRunningWaitingAndKvGaugesAndDropsVanishedSeries() {
        start(Map.of("models", new String[] {"demo"}, "modes", new String[] {"interactive", "batch"}));
        Fakes.FakeScheduler scheduler = new Fakes.FakeScheduler();
        scheduler.held = List.of(Fakes.status("demo", "interactive", RequestStatus.State.RUNNING),
                Fakes.status("demo", "interactive", RequestStatus.State.RUNNING),
                Fakes.status("demo", "interactive", RequestStatus.State.QUEUED),
                Fakes.status("demo", "batch", RequestStatus.State.PREEMPTED));
        Fakes.FakeKvManager kv = new Fakes.FakeKvManager();
        // 16-token blocks of 4 KiB: 3 used, 1 cached, 6 free
        KvUsage usage = new KvUsage(16, 40960, 12288, 4096, 24576, 0, 100, 0, 3, 1, 2, 30, 10, 7, 1);
        Fakes.FakeCache cache = new Fakes.FakeCache("demo", usage);
        kv.caches = List.of(cache);
        telemetry.providers(scheduler, kv);
        telemetry.sample();

        assertEquals(2, ((Number) gauge(HalyardMetrics.SCHEDULER_REQUESTS.id("demo", "interactive", "running"))).intValue());
        assertEquals(1, ((Number) gauge(HalyardMetrics.SCHEDULER_REQUESTS.id("demo", "interactive", "waiting"))).intValue());
        assertEquals(1, ((Number) gauge(HalyardMetrics.SCHEDULER_REQUESTS.id("demo", "batch", "waiting"))).intValue());
        assertEquals(0, ((Number) gauge(HalyardMetrics.SCHEDULER_REQUESTS.id("demo", "batch", "running"))).intValue());
        assertEquals(3L, gauge(HalyardMetrics.KV_BLOCKS.id("demo", "used")));
        assertEquals(1L, gauge(HalyardMetrics.KV_BLOCKS.id("demo", "cached")));
        assertEquals(6L, gauge(HalyardMetrics.KV_BLOCKS.id("demo", "free")));
        assertEquals(24576L, gauge(HalyardMetrics.KV_MEMORY.id("demo", "free")));
        assertEquals(0.75, (Double) gauge(HalyardMetrics.KV_PREFIX_HIT_RATIO.id("demo")), 1e-9);
        assertEquals(30L, gauge(HalyardMetrics.KV_PREFIX_TOKENS.id("demo", "hit")));
        assertEquals(100L, gauge(HalyardMetrics.KV_OFFLOADED.id("demo", "offheap")));

        // the KV cache bundle goes away: its series go with it
        telemetry.providers(scheduler, null);
        telemetry.sample();
        assertNull(telemetry.metricRegistry().getGauges().get(HalyardMetrics.KV_BLOCKS.id("demo", "used").encode()));
    }

    @Test
    void freeBlocksComeFromTheCacheShapeWhenNoBlockIsInUse() {
        Fakes.FakeCache empty = new Fakes.FakeCache("demo", new KvUsage(16, 1 << 20, 0, 0, 1 << 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        // 16 tokens x (2 x 4 layers x 2 heads x 32) values x 4 bytes = 16 KiB
        assertEquals(16 * 512 * 4, TelemetryComponent.blockBytes(empty, empty.usage()));
    }

    @Test
    void memoryGaugesAndHealthAreThere() {
        start(Map.of());
        telemetry.sample();
        MetricRegistry r = telemetry.metricRegistry();
        assertTrue(((Number) r.getGauges().get(HalyardMetrics.HEAP_USED.id().encode()).getValue()).longValue() > 0);
        assertTrue(((Number) r.getGauges().get(HalyardMetrics.HEAP_LIMIT.id().encode()).getValue()).longValue() > 0);
        assertTrue(r.getGauges().keySet().stream().anyMatch(n -> n.startsWith(HalyardMetrics.GC_TIME.name() + "{")));
        List<Health> health = telemetry.health();
        assertTrue(health.stream().anyMatch(h -> h.component().equals("memory/heap")), health.toString());
        assertTrue(health.stream().anyMatch(h -> h.component().equals("telemetry")), health.toString());
    }

    @Test
    void reconfiguringAddsModesLive() {
        start(Map.of());
        telemetry.record(record("a", "", "special", Outcome.OK, 1, 1, 0, 1L, 1));
        assertEquals(1, count(HalyardMetrics.REQUESTS.id("none", "other", "ok")));
        telemetry.modified(Configs.of(TelemetryComponent.Config.class, Map.of("modes", new String[] {"special"})));
        telemetry.record(record("b", "", "special", Outcome.OK, 1, 1, 0, 1L, 1));
        assertEquals(1, count(HalyardMetrics.REQUESTS.id("none", "special", "ok")));
    }
}
