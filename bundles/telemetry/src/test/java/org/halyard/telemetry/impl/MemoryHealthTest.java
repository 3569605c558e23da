package org.halyard.telemetry.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.halyard.core.api.Health;
import org.halyard.kvcache.api.KvUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemoryHealthTest {

    private static final MemoryHealth.Levels LEVELS = new MemoryHealth.Levels(85, 95, 90, 97, 30);
    private static final long GIB = 1L << 30;

    private static MemoryProbe.Reading reading(long heapLive, long resident, long gcMillis, long nanos) {
        return new MemoryProbe.Reading(heapLive, heapLive, 2 * GIB, 2 * GIB, 10, 20, 30, 2 * GIB, resident,
                4 * GIB, Map.of("G1 Young Generation", gcMillis), nanos);
    }

    private static Health component(List<Health> all, String name) {
        return all.stream().filter(h -> h.component().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name + " in " + all));
    }

    @Test
    void lowUseIsUp() {
        List<Health> h = MemoryHealth.judge(reading(GIB / 2, GIB, 0, 0), null, List.of(), LEVELS);
        assertEquals(Health.Status.UP, component(h, "memory/heap").status());
        assertEquals(Health.Status.UP, component(h, "memory/process").status());
        assertEquals(Health.Status.UP, component(h, "memory/offheap").status());
    }

    @Test
    void liveHeapPastWarningDegradesAndPastCriticalIsNotReady() {
        Health warn = component(MemoryHealth.judge(reading((long) (1.8 * GIB), GIB, 0, 0), null, List.of(), LEVELS), "memory/heap");
        assertEquals(Health.Status.DEGRADED, warn.status());
        assertTrue(warn.ready());
        Health critical = component(MemoryHealth.judge(reading((long) (1.95 * GIB), GIB, 0, 0), null, List.of(), LEVELS), "memory/heap");
        assertEquals(Health.Status.DEGRADED, critical.status());
        assertFalse(critical.ready());
        assertTrue(critical.detail().contains("OutOfMemoryError"), critical.detail());
        assertEquals(Long.toString((long) (1.95 * GIB)), critical.attributes().get("liveBytes"));
    }

    @Test
    void residentMemoryNearTheContainerLimitIsNotReady() {
        Health p = component(MemoryHealth.judge(reading(GIB / 2, (long) (3.95 * GIB), 0, 0), null, List.of(), LEVELS), "memory/process");
        assertEquals(Health.Status.DEGRADED, p.status());
        assertFalse(p.ready());
    }

    @Test
    void garbageCollectionTakingMostOfTheTimeDegrades() {
        MemoryProbe.Reading before = reading(GIB / 2, GIB, 1_000, 0);
        MemoryProbe.Reading now = reading(GIB / 2, GIB, 1_000 + 4_000, 5_000_000_000L); // 4 s of 5 in GC
        assertEquals(0.8, MemoryHealth.gcShare(now, before), 1e-9);
        Health heap = component(MemoryHealth.judge(now, before, List.of(), LEVELS), "memory/heap");
        assertEquals(Health.Status.DEGRADED, heap.status());
        assertTrue(heap.ready());
        assertEquals("80.0", heap.attributes().get("gcTimePercent"));
    }

    @Test
    void kvCacheIsReportedForInformation() {
        KvUsage u = new KvUsage(16, 1000, 900, 100, 0, 0, 0, 0, 9, 1, 3, 0, 0, 0, 0);
        Health kv = component(MemoryHealth.judge(reading(GIB / 2, GIB, 0, 0), null, List.of(u), LEVELS), "memory/kvcache");
        assertEquals(Health.Status.UP, kv.status(), "a full KV pool means preemption, not a crash");
        assertEquals("900", kv.attributes().get("usedBytes"));
    }

    @Test
    void probeReadsResidentMemoryAndTheCgroupLimit(@TempDir Path dir) throws Exception {
        Path status = dir.resolve("status");
        Files.writeString(status, "Name:\tjava\nVmRSS:\t  204800 kB\nThreads:\t40\n");
        Path v2 = dir.resolve("memory.max");
        Files.writeString(v2, "1073741824\n");
        MemoryProbe probe = new MemoryProbe(status, List.of(v2));
        assertEquals(204800L * 1024, probe.resident());
        assertTrue(probe.processLimit() <= 1073741824L && probe.processLimit() > 0);

        Files.writeString(v2, "max\n");
        assertTrue(probe.processLimit() != 1073741824L, "unlimited cgroup: falls back to physical memory");
        MemoryProbe none = new MemoryProbe(dir.resolve("missing"), List.of(dir.resolve("missing2")));
        assertEquals(-1, none.resident());
        assertEquals(-1, none.full().resident());
    }
}
