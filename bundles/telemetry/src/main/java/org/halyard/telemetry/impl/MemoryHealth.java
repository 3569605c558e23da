package org.halyard.telemetry.impl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.halyard.core.api.Health;
import org.halyard.kvcache.api.KvUsage;

/**
 * Judges memory from probe readings, as {@code /health}, {@code /ready} and
 * {@code halyard:status} show it.
 *
 * <ul>
 *   <li>{@code memory/heap}: live heap (after the last collection) against the limit, and the
 *       share of time spent collecting garbage since the previous sample. Past the warning level
 *       the node is DEGRADED; past the critical level it is also not ready, so that a load
 *       balancer stops sending it new work while running requests finish and free memory.</li>
 *   <li>{@code memory/process}: resident memory against the container limit (the kernel's OOM
 *       killer does not wait for the JVM), same two levels.</li>
 *   <li>{@code memory/offheap}: direct buffers against their limit, same two levels.</li>
 *   <li>{@code memory/kvcache}: the KV hot tier's use, for information: a full KV pool makes the
 *       scheduler preempt, it does not crash the process.</li>
 * </ul>
 */
final class MemoryHealth {

    /** Thresholds in percent. */
    record Levels(int heapWarn, int heapCritical, int processWarn, int processCritical, int gcWarn) {
    }

    private MemoryHealth() {
    }

    static List<Health> judge(MemoryProbe.Reading now, MemoryProbe.Reading before, List<KvUsage> kv, Levels levels) {
        List<Health> out = new ArrayList<>();
        double live = MemoryProbe.Reading.share(now.heapLive(), now.heapLimit());
        double used = MemoryProbe.Reading.share(now.heapUsed(), now.heapLimit());
        double gc = gcShare(now, before);
        Map<String, String> heapAttrs = new LinkedHashMap<>();
        heapAttrs.put("usedBytes", Long.toString(now.heapUsed()));
        heapAttrs.put("liveBytes", Long.toString(now.heapLive()));
        heapAttrs.put("limitBytes", Long.toString(now.heapLimit()));
        heapAttrs.put("gcTimePercent", gc < 0 ? "unknown" : percent(gc));
        String heapDetail = "live " + (live < 0 ? "unknown" : percent(live) + "%") + " of the heap limit "
                + mib(now.heapLimit()) + " (in use now " + percent(Math.max(used, 0)) + "%)"
                + (gc < 0 ? "" : ", " + percent(gc) + "% of time in GC");
        Health heap = level("memory/heap", live, levels.heapWarn(), levels.heapCritical(), heapDetail,
                "heap nearly full: an OutOfMemoryError is coming");
        if (heap.status() == Health.Status.UP && gc >= 0 && gc * 100 >= levels.gcWarn()) {
            heap = new Health("memory/heap", Health.Status.DEGRADED, true, heapDetail
                    + ": garbage collection takes most of the time (heap too small for the load)", Map.of());
        }
        out.add(heap.with(heapAttrs));

        if (now.resident() >= 0) {
            double rss = MemoryProbe.Reading.share(now.resident(), now.processLimit());
            String detail = "resident " + mib(now.resident()) + (now.processLimit() > 0
                    ? " of " + mib(now.processLimit()) + " (" + percent(Math.max(rss, 0)) + "%)" : "");
            out.add(level("memory/process", rss, levels.processWarn(), levels.processCritical(), detail,
                    "process close to its memory limit: the kernel will kill it")
                    .with(Map.of("residentBytes", Long.toString(now.resident()),
                            "limitBytes", Long.toString(now.processLimit()))));
        }

        if (now.directUsed() >= 0) {
            double direct = MemoryProbe.Reading.share(now.directUsed(), now.directLimit());
            out.add(level("memory/offheap", direct, levels.heapWarn(), levels.heapCritical(),
                    "direct buffers " + mib(now.directUsed()) + " of " + mib(now.directLimit())
                            + ", mapped files " + mib(Math.max(0, now.mappedUsed())),
                    "direct memory nearly exhausted").with(Map.of(
                            "directBytes", Long.toString(now.directUsed()),
                            "directLimitBytes", Long.toString(now.directLimit()),
                            "mappedBytes", Long.toString(now.mappedUsed()),
                            "nonHeapBytes", Long.toString(now.nonHeapUsed()))));
        }

        if (kv != null && !kv.isEmpty()) {
            long cap = 0;
            long usedKv = 0;
            long cached = 0;
            for (KvUsage u : kv) {
                cap += u.capacityBytes();
                usedKv += u.usedBytes();
                cached += u.cachedBytes();
            }
            double share = MemoryProbe.Reading.share(usedKv, cap);
            out.add(Health.up("memory/kvcache", kv.size() + " cache(s): " + mib(usedKv) + " used, "
                    + mib(cached) + " cached of " + mib(cap) + (share < 0 ? "" : " (" + percent(share) + "% used)"))
                    .with(Map.of("capacityBytes", Long.toString(cap), "usedBytes", Long.toString(usedKv),
                            "cachedBytes", Long.toString(cached))));
        }
        return out;
    }

    private static Health level(String component, double share, int warn, int critical, String detail, String why) {
        if (share >= 0 && share * 100 >= critical) {
            return new Health(component, Health.Status.DEGRADED, false, why + ": " + detail, Map.of());
        }
        if (share >= 0 && share * 100 >= warn) {
            return new Health(component, Health.Status.DEGRADED, true, detail, Map.of());
        }
        return Health.up(component, detail);
    }

    /** Share of wall time spent in GC between two readings, -1 without a previous one. */
    static double gcShare(MemoryProbe.Reading now, MemoryProbe.Reading before) {
        if (before == null || now.nanoTime() <= before.nanoTime()) {
            return -1;
        }
        long gcMillis = 0;
        for (Map.Entry<String, Long> e : now.gcMillis().entrySet()) {
            gcMillis += e.getValue() - before.gcMillis().getOrDefault(e.getKey(), 0L);
        }
        double wallMillis = (now.nanoTime() - before.nanoTime()) / 1e6;
        return Math.min(1, Math.max(0, gcMillis / wallMillis));
    }

    static String percent(double share) {
        return String.format(Locale.ROOT, "%.1f", share * 100);
    }

    static String mib(long bytes) {
        return bytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}
