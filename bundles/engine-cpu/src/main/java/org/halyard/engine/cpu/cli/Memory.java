package org.halyard.engine.cpu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Resident memory of this process (Linux {@code /proc/self/status}): mapped weights show up as
 * file-backed pages ({@code RssFile}), copies as anonymous ones ({@code RssAnon}).
 */
final class Memory {

    private Memory() {
    }

    /** VmRSS, RssAnon and RssFile in KiB, and the heap in use; empty where /proc is not there. */
    static Map<String, Long> resident() {
        Map<String, Long> m = new LinkedHashMap<>();
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return m;
        }
        System.gc();
        Runtime rt = Runtime.getRuntime();
        m.put("Heap", (rt.totalMemory() - rt.freeMemory()) / 1024);
        try {
            for (String line : Files.readAllLines(status)) {
                for (String key : new String[] {"VmRSS", "RssAnon", "RssFile"}) {
                    if (line.startsWith(key + ":")) {
                        m.put(key, Long.parseLong(line.replaceAll("[^0-9]", "")));
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Map.of();
        }
        return m;
    }

    static String describe(Map<String, Long> kib) {
        return String.format("%6d / %6d / %6d / %6d", kib.getOrDefault("Heap", 0L) >> 10,
                kib.getOrDefault("VmRSS", 0L) >> 10, kib.getOrDefault("RssAnon", 0L) >> 10,
                kib.getOrDefault("RssFile", 0L) >> 10);
    }
}
