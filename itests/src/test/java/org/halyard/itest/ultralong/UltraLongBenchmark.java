package org.halyard.itest.ultralong;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.StepEntry;
import org.halyard.itest.ultralong.HeldBackText.Play;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;

/**
 * Prefill throughput of long prompts and KV memory per token by tier, for docs/ultralong.md: the
 * demo model on the CPU engine outside OSGi, prompts of 1x to 20x its context prefilled in
 * chunks the way the scheduler feeds an ultra-long request (sliding a 256-token window with
 * sinks, INT8 or F32 blocks; hot in chunks of 256, or offloaded through a hot pool smaller than
 * the window in chunks of 64), timed end to end, median of three runs after a warm-up. Run with
 * {@code ./mvnw -B -q -pl itests -am verify -DskipTests -Pbench
 * -Dbench.class=org.halyard.itest.ultralong.UltraLongBenchmark}.
 */
public final class UltraLongBenchmark {

    private UltraLongBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Model m = SlidingWindowBenchmark.demo();
        int ctx = m.info().contextLength();
        Path dir = Files.createTempDirectory("halyard-ultralong-bench");
        int[] text = new Perplexity(m, null).stream(HeldBackText.speeches(Play.HAMLET), 20 * ctx);
        System.out.printf(Locale.ROOT, "load average %.1f, %d cores%n",
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                Runtime.getRuntime().availableProcessors());
        System.out.println("prefill, median of 3 runs after a warm-up; off-heap and disk: bytes held there at most");
        System.out.printf(Locale.ROOT, "%-8s %-6s %-9s %8s %10s %12s %12s%n", "prompt", "type", "hot pool", "ms",
                "tokens/s", "off-heap B", "disk B");
        // JIT warm-up on a throw-away cache
        try (PagedKvCacheManager warm = new PagedKvCacheManager(KvCacheSettings.defaults().withCapacityBytes(64L << 20)
                .withDataDirectory(dir).withCheckIntervalSeconds(0))) {
            KvCache cache = warm.create(new KvCacheSpec("warm", m.info().version(), m.kvLayout(), KvDType.INT8, 0));
            prefill(m, cache, java.util.Arrays.copyOf(text, 10 * ctx), KvDType.INT8, 256);
            prefill(m, cache, java.util.Arrays.copyOf(text, 10 * ctx), KvDType.F32, 64);
        }
        // hot: everything in the hot pool, chunks of 256 (the scheduler's default); offloaded: a
        // 160 KiB hot pool, less than a window, chunks of 64 so that the blocks being written fit
        for (long hot : new long[] {64L << 20, 160 << 10}) {
            int chunk = hot >= 1 << 20 ? 256 : 64;
            for (KvDType d : new KvDType[] {KvDType.INT8, KvDType.F32}) {
                for (int x : new int[] {1, 10, 20}) {
                    int n = x == 1 ? ctx - 1 : x * ctx;
                    long[] times = new long[3];
                    long[] cold = null;
                    for (int rep = 0; rep < times.length; rep++) {
                        try (PagedKvCacheManager manager = new PagedKvCacheManager(KvCacheSettings.defaults()
                                .withCapacityBytes(hot).withOffHeapCapacityBytes(96 << 10)
                                .withDiskCapacityBytes(64L << 20).withDataDirectory(dir).withCheckIntervalSeconds(0))) {
                            KvCache cache = manager.create(new KvCacheSpec("bench", m.info().version(), m.kvLayout(), d, 0));
                            int[] prompt = java.util.Arrays.copyOf(text, n);
                            long t0 = System.nanoTime();
                            cold = prefill(m, cache, prompt, d, chunk);
                            times[rep] = System.nanoTime() - t0;
                        }
                    }
                    java.util.Arrays.sort(times);
                    long ms = times[1] / 1_000_000;
                    System.out.printf(Locale.ROOT, "%-8s %-6s %-9s %8d %10.0f %12d %12d%n", x + "x", d,
                            hot >= 1 << 20 ? (hot >> 20) + " MiB" : (hot >> 10) + " KiB", ms, n * 1000.0 / ms,
                            cold[0], cold[1]);
                }
            }
        }
        System.out.println("bytes per token held, by tier (4096 tokens committed, 16-token blocks):");
        for (KvDType d : KvDType.values()) {
            long[] perTier = new long[3];
            for (int tier = 0; tier < 3; tier++) {
                // hot: everything fits; off-heap: a hot pool of one open block; disk: no off-heap either
                long hot = tier == 0 ? 64L << 20 : 64 << 10;
                try (PagedKvCacheManager manager = new PagedKvCacheManager(KvCacheSettings.defaults()
                        .withCapacityBytes(hot).withOffHeapCapacityBytes(tier == 1 ? 64L << 20 : 0)
                        .withDiskCapacityBytes(64L << 20).withDataDirectory(dir).withCheckIntervalSeconds(0))) {
                    KvCache cache = manager.create(new KvCacheSpec("bytes", m.info().version(), m.kvLayout(), d, 0));
                    KvSequence s = cache.open("s", new int[0], new KvSequenceOptions(d, false, true, 0, ""));
                    float[] k = new float[m.kvLayout().kvDim()];
                    for (int t = 0; t < 4096; t += 16) {
                        if (!cache.allocate(s, 16)) {
                            throw new IllegalStateException("no room");
                        }
                        for (int i = t; i < t + 16; i++) {
                            for (int l = 0; l < m.kvLayout().layers(); l++) {
                                k[0] = i;
                                s.write(l, i, k, 0, k, 0);
                            }
                        }
                        s.commit(new int[16], 0, 16);
                    }
                    KvUsage u = cache.usage();
                    perTier[tier] = (tier == 0 ? u.usedBytes() : tier == 1 ? u.offHeapBytes() : u.diskBytes()) / 4096;
                }
            }
            System.out.printf(Locale.ROOT, "  %-5s hot %5d   off-heap %5d   disk %5d   (7B-like 32x32x128: %d)%n", d,
                    perTier[0], perTier[1], perTier[2], d == KvDType.INT8 ? 262656 : 32L * 32 * 128 * 2 * d.bytesPerValue());
        }
    }

    /** Prefills a prompt in chunks as the scheduler does for an ultra-long request; returns the cold bytes seen at most. */
    static long[] prefill(Model m, KvCache cache, int[] prompt, KvDType d, int chunk) {
        int window = m.info().contextLength();
        int sinks = 16;
        int slide = 64;
        int b = cache.blockSizeTokens();
        KvSequence kv = cache.open("p", new int[0], new KvSequenceOptions(d, false, true, 0, ""));
        Perplexity.Tokens seq = new Perplexity.Tokens(prompt);
        long offHeap = 0;
        long disk = 0;
        int evicted = 0;
        try {
            int i = 0;
            while (i < prompt.length) {
                int length = kv.length();
                if (length >= window) {
                    int to = Math.min(sinks + slide, length / b * b);
                    m.shiftPositions(kv, to, length, sinks - to);
                    cache.discard(kv, sinks, to);
                    evicted += to - sinks;
                    length = kv.length();
                }
                int n = Math.min(Math.min(chunk, prompt.length - i), window - length);
                if (kv.capacity() < length + n && !cache.allocate(kv, length + n - kv.capacity())) {
                    throw new IllegalStateException("no KV room at " + i);
                }
                boolean last = i + n == prompt.length;
                m.step(List.of(new StepEntry(seq, kv, i, n, last, false, i - evicted)));
                kv.commit(prompt, i, n);
                i += n;
                KvUsage u = cache.usage();
                offHeap = Math.max(offHeap, u.offHeapBytes());
                disk = Math.max(disk, u.diskBytes());
            }
        } finally {
            cache.release(kv);
        }
        return new long[] {offHeap, disk};
    }
}
