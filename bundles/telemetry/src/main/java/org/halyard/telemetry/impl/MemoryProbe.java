package org.halyard.telemetry.impl;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

/**
 * Reads the memory figures an operator needs to see an out-of-memory coming: the JVM's heap
 * (used, live after the last collection, limit), memory outside the heap (direct buffers, mapped
 * model files, the JVM's own pools) and, on Linux, the process' resident memory against the
 * container's limit, which is what the kernel's OOM killer acts on. Only public management APIs;
 * the HotSpot- and OS-specific figures are read as MBean attributes so that nothing breaks on a
 * JVM without them.
 */
final class MemoryProbe {

    /** One reading. {@code -1} where a figure is not available. */
    record Reading(long heapUsed, long heapLive, long heapCommitted, long heapLimit, long directUsed,
            long mappedUsed, long nonHeapUsed, long directLimit, long resident, long processLimit,
            Map<String, Long> gcMillis, long nanoTime) {

        /** Share of a limit, or -1 when either figure is unknown. */
        static double share(long used, long limit) {
            return used < 0 || limit <= 0 ? -1 : (double) used / limit;
        }
    }

    private final Path procStatus;
    private final List<Path> cgroupLimits;
    private final long directLimit;
    private final long physicalMemory;

    MemoryProbe() {
        this(Path.of("/proc/self/status"), List.of(Path.of("/sys/fs/cgroup/memory.max"),
                Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes")));
    }

    /** For tests: other files standing in for /proc and the cgroup. */
    MemoryProbe(Path procStatus, List<Path> cgroupLimits) {
        this.procStatus = procStatus;
        this.cgroupLimits = cgroupLimits;
        this.directLimit = readDirectLimit();
        this.physicalMemory = readLongAttribute("java.lang:type=OperatingSystem", "TotalPhysicalMemorySize");
    }

    /** The JVM figures (cheap: management beans only). */
    Reading jvm() {
        return read(false);
    }

    /** Everything, including the process figures read from /proc and the cgroup (file reads). */
    Reading full() {
        return read(true);
    }

    private Reading read(boolean process) {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
        long live = 0;
        boolean anyLive = false;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isCollectionUsageThresholdSupported()) {
                MemoryUsage after = pool.getCollectionUsage();
                if (after != null) {
                    // after a collection the young pools are (nearly) empty: the sum is the live data
                    live += after.getUsed();
                    anyLive = true;
                }
            }
        }
        long direct = -1;
        long mapped = -1;
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if ("direct".equals(b.getName())) {
                direct = b.getMemoryUsed();
            } else if ("mapped".equals(b.getName())) {
                mapped = b.getMemoryUsed();
            }
        }
        Map<String, Long> gc = new LinkedHashMap<>();
        for (GarbageCollectorMXBean c : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (c.getCollectionTime() >= 0) {
                gc.put(c.getName(), c.getCollectionTime());
            }
        }
        long heapLimit = heap.getMax() > 0 ? heap.getMax() : Runtime.getRuntime().maxMemory();
        return new Reading(heap.getUsed(), anyLive ? live : -1, heap.getCommitted(), heapLimit, direct, mapped,
                nonHeap.getUsed(), directLimit > 0 ? directLimit : heapLimit,
                process ? resident() : -1, process ? processLimit() : -1, gc, System.nanoTime());
    }

    /** VmRSS of /proc/self/status, in bytes; -1 when not on Linux. */
    long resident() {
        try {
            for (String line : Files.readAllLines(procStatus, StandardCharsets.US_ASCII)) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs
        }
        return -1;
    }

    /** The cgroup memory limit (v2, then v1), or the machine's memory; -1 when unknown. */
    long processLimit() {
        for (Path p : cgroupLimits) {
            try {
                String v = Files.readString(p, StandardCharsets.US_ASCII).trim();
                if (v.equals("max")) {
                    break;
                }
                long limit = Long.parseLong(v);
                // cgroup v1 writes a huge number (close to Long.MAX_VALUE) for "no limit"
                if (limit > 0 && limit < (1L << 60)) {
                    return physicalMemory > 0 ? Math.min(limit, physicalMemory) : limit;
                }
                break;
            } catch (IOException | RuntimeException e) {
                // this cgroup version is not mounted; try the next
            }
        }
        return physicalMemory;
    }

    private static long readDirectLimit() {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            Object option = server.invoke(new ObjectName("com.sun.management:type=HotSpotDiagnostic"),
                    "getVMOption", new Object[] {"MaxDirectMemorySize"}, new String[] {String.class.getName()});
            if (option instanceof CompositeData cd) {
                long v = Long.parseLong(String.valueOf(cd.get("value")));
                return v > 0 ? v : -1;  // 0: the default, which is the heap limit
            }
        } catch (Exception | LinkageError e) {
            // not HotSpot
        }
        return -1;
    }

    private static long readLongAttribute(String bean, String attribute) {
        try {
            Object v = ManagementFactory.getPlatformMBeanServer().getAttribute(new ObjectName(bean), attribute);
            return v instanceof Number n ? n.longValue() : -1;
        } catch (Exception | LinkageError e) {
            return -1;
        }
    }
}
