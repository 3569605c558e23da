package org.halyard.kvcache.impl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.impl.block.BlockShape;
import org.halyard.kvcache.impl.kernel.Vectors;
import org.halyard.kvcache.impl.tier.DataDirectory;

/**
 * KV Cache++'s storage figures, printed (no assertions): bytes per cached token by block type,
 * offload and reload throughput between tiers, and attention read speed ({@code keyDots} plus
 * {@code valueSum}) by type and tier. Run it with
 *
 * <pre>
 *   ./mvnw -B -q -pl bundles/kvcache -am test -Pbench -DskipTests
 *   (add -Dbench.args=-Dhalyard.vector.bits=0 for the scalar kernels)
 * </pre>
 *
 * Time to first token with a cached prefix needs a model: see {@code PrefixCacheBenchmark}
 * in itests.
 */
public final class KvCacheBenchmark {

    /** The demo model (models/halyard-shakespeare-moe) and a Llama-2-7B-like layout. */
    static final KvLayout DEMO = new KvLayout(4, 2, 32);
    static final KvLayout LLAMA_7B = new KvLayout(32, 32, 128);

    private KvCacheBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("KV Cache++ benchmark: Java " + System.getProperty("java.version") + ", "
                + Runtime.getRuntime().availableProcessors() + " CPUs, kernels " + Vectors.describe());
        bytesPerToken();
        Path dir = Files.createTempDirectory("kvcache-bench");
        try {
            System.out.println();
            System.out.println("Offload and reload throughput (whole sealed blocks copied between tiers; second of two runs)");
            for (KvDType d : KvDType.values()) {
                tierThroughput(DEMO, d, 16, 2048, dir, false); // warm-up
                tierThroughput(DEMO, d, 16, 2048, dir, true);
            }
            tierThroughput(LLAMA_7B, KvDType.F16, 16, 32, dir, true);
            for (KvDType d : KvDType.values()) {
                attention(d, dir);
            }
        } finally {
            DataDirectory.deleteTree(dir);
        }
    }

    /** Bytes per cached token: the block shapes, and a cache's accounting after filling it. */
    static void bytesPerToken() {
        System.out.println();
        System.out.println("Bytes per cached token (16-token blocks; INT8 includes its scales)");
        System.out.printf(Locale.ROOT, "  %-34s %10s %10s %10s   %s%n", "layout", "F32", "F16", "INT8", "INT8/F32");
        for (KvLayout l : new KvLayout[] {DEMO, LLAMA_7B}) {
            BlockShape s = BlockShape.of(l, 16);
            System.out.printf(Locale.ROOT, "  %-34s %10.1f %10.1f %10.1f   %.3f%n",
                    l.layers() + " layers x " + l.kvHeads() + " KV heads x " + l.headDim(),
                    s.bytes(KvDType.F32) / 16.0, s.bytes(KvDType.F16) / 16.0, s.bytes(KvDType.INT8) / 16.0,
                    (double) s.bytes(KvDType.INT8) / s.bytes(KvDType.F32));
        }
        // measured: the cache's own accounting after 4096 tokens of the demo model
        for (KvDType d : KvDType.values()) {
            PagedKvCache c = new PagedKvCache(new KvCacheSpec("bench", "v", DEMO, d, 1L << 30),
                    KvCacheSettings.defaults().withOffHeapCapacityBytes(0).withDiskCapacityBytes(0)
                            .withCheckIntervalSeconds(0));
            KvSequence s = c.open("s", new int[0], new KvSequenceOptions(d, false, false, 0, ""));
            fill(c, s, 4096, new Random(1));
            System.out.printf(Locale.ROOT, "  demo model, %s, 4096 tokens: %d bytes used = %.1f bytes/token%n", d,
                    c.usage().usedBytes(), c.usage().usedBytes() / 4096.0);
            c.close();
        }
    }

    /** Writes and commits {@code n} tokens of random keys and values. */
    static void fill(PagedKvCache c, KvSequence s, int n, Random r) {
        KvLayout l = c.spec().layout();
        float[] k = new float[l.kvDim()];
        float[] v = new float[l.kvDim()];
        if (!c.allocate(s, n - (s.capacity() - s.length()))) {
            throw new IllegalStateException("no room for " + n + " tokens");
        }
        int[] tokens = new int[n];
        for (int pos = s.length(); pos < n; pos++) {
            for (int layer = 0; layer < l.layers(); layer++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) r.nextGaussian();
                    v[i] = (float) r.nextGaussian();
                }
                s.write(layer, pos, k, 0, v, 0);
            }
            tokens[pos] = pos;
        }
        s.commit(tokens, s.length(), n - s.length());
    }

    /** Moves every block of a sequence hot → off-heap → disk → hot, timing each step. */
    static void tierThroughput(KvLayout layout, KvDType d, int blockTokens, int blocks, Path dir, boolean print) {
        int tokens = blockTokens * blocks;
        KvCacheSettings settings = KvCacheSettings.defaults().withBlockSizeTokens(blockTokens).withCapacityBytes(4L << 30)
                .withOffHeapCapacityBytes(4L << 30).withDiskCapacityBytes(16L << 30).withDataDirectory(dir)
                .withCheckIntervalSeconds(0);
        PagedKvCache c = new PagedKvCache(new KvCacheSpec("bench", "v", layout, d, 0), settings);
        KvSequence s = c.open("s", new int[0], new KvSequenceOptions(d, false, false, 0, ""));
        fill(c, s, tokens, new Random(2));
        Block[] table = ((PagedKvSequence) s).table;
        long bytes = 0;
        for (Block b : table) {
            bytes += b.bytes;
        }
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-5s %-22s %5d blocks of %7.1f KiB:",
                d, layout == DEMO ? "demo model" : "7B-like (F16)", blocks, bytes / 1024.0 / blocks));
        for (Tier to : new Tier[] {Tier.OFF_HEAP, Tier.DISK, Tier.HOT}) {
            long t0 = System.nanoTime();
            for (Block b : table) {
                if (!c.moveForTest(b, to)) {
                    throw new IllegalStateException("could not move " + b + " to " + to);
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            line.append(String.format(Locale.ROOT, "  →%s %7.0f MiB/s (%8.0f blocks/s)",
                    to == Tier.OFF_HEAP ? "off-heap" : to == Tier.DISK ? "disk" : "hot", bytes / seconds / (1 << 20),
                    blocks / seconds));
        }
        if (print) {
            System.out.println(line);
        }
        c.close();
    }

    /**
     * One decode step's attention reads for a 4096-token sequence of the demo model: every layer,
     * every KV head, {@code keyDots} then {@code valueSum} over all slots, with the blocks in each tier.
     */
    static void attention(KvDType d, Path dir) {
        if (d == KvDType.F32) {
            System.out.println();
            System.out.println("Attention reads, demo model, 4096-token sequence (keyDots + valueSum, all layers"
                    + " and KV heads, one thread)");
        }
        int n = 4096;
        KvCacheSettings settings = KvCacheSettings.defaults().withCapacityBytes(1L << 30)
                .withOffHeapCapacityBytes(1L << 30).withDiskCapacityBytes(1L << 30).withDataDirectory(dir)
                .withCheckIntervalSeconds(0);
        PagedKvCache c = new PagedKvCache(new KvCacheSpec("bench", "v", DEMO, d, 0), settings);
        KvSequence s = c.open("s", new int[0], new KvSequenceOptions(d, false, false, 0, ""));
        fill(c, s, n, new Random(3));
        float[] q = new float[DEMO.headDim()];
        float[] scores = new float[n];
        float[] out = new float[DEMO.headDim()];
        Random r = new Random(4);
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-5s", d));
        for (Tier t : new Tier[] {Tier.HOT, Tier.OFF_HEAP, Tier.DISK}) {
            for (Block b : ((PagedKvSequence) s).table) {
                if (b.tier != t && !c.moveForTest(b, t)) {
                    throw new IllegalStateException("could not move " + b + " to " + t);
                }
            }
            // warm up the JIT, then time
            double best = Double.MAX_VALUE;
            for (int round = 0; round < 300; round++) {
                long t0 = System.nanoTime();
                for (int layer = 0; layer < DEMO.layers(); layer++) {
                    for (int h = 0; h < DEMO.kvHeads(); h++) {
                        s.keyDots(layer, h, q, 0, 0, n, scores, 0);
                        s.valueSum(layer, h, scores, 0, 0, n, out, 0);
                    }
                }
                best = Math.min(best, (System.nanoTime() - t0) / 1e9);
            }
            double tokensPerSecond = (double) n * DEMO.layers() * DEMO.kvHeads() / best;
            line.append(String.format(Locale.ROOT, "   %-8s %6.2f ms/step (%5.1f M token-heads/s)",
                    t == Tier.HOT ? "hot" : t == Tier.OFF_HEAP ? "off-heap" : "disk", best * 1e3, tokensPerSecond / 1e6));
        }
        System.out.println(line);
        c.close();
    }
}
