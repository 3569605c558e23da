package org.halyard.kvcache.impl;

import static org.halyard.kvcache.impl.Fixtures.F32_BLOCK_BYTES;
import static org.halyard.kvcache.impl.Fixtures.LAYOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.halyard.kvcache.api.KvCheck;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many sequences allocating, sharing, offloading and releasing at once on a pool too small for
 * all of them, each checking that every slot it reads holds its own tokens' keys and values (a
 * block served to the wrong sequence, freed under a reader or torn by a tier move shows up as a
 * wrong value), while a checker verifies the invariants and, in the second test, a chaos thread
 * drops the cache and the workers rebuild by re-prefill.
 */
class ConcurrentKvCacheTest {

    private static final int THREADS = 8;
    private static final int[][] PREFIXES = {Fixtures.range(0, 12), Fixtures.range(500, 509), Fixtures.range(900, 916)};

    @TempDir
    Path dir;

    /** Generations each worker runs (prompts of 9 to 25 tokens, 1 to 8 decoded). */
    static final int GENERATIONS = 25;

    /** What one worker does until told to stop; returns sequences served. */
    private static final class Worker implements java.util.concurrent.Callable<Long> {
        final PagedKvCache cache;
        final int seed;
        final AtomicLong rebuilds;

        Worker(PagedKvCache cache, int seed, AtomicLong rebuilds) {
            this.cache = cache;
            this.seed = seed;
            this.rebuilds = rebuilds;
        }

        @Override
        public Long call() {
            Random r = new Random(seed);
            long served = 0;
            for (int n = 0; n < GENERATIONS; n++) {
                int[] prefix = PREFIXES[r.nextInt(PREFIXES.length)];
                int suffix = r.nextInt(10);
                int[] prompt = new int[prefix.length + suffix];
                System.arraycopy(prefix, 0, prompt, 0, prefix.length);
                for (int i = prefix.length; i < prompt.length; i++) {
                    prompt[i] = 2000 + r.nextInt(50);
                }
                KvDType dtype = KvDType.values()[r.nextInt(3)];
                boolean offload = r.nextInt(3) == 0;
                KvSequenceOptions options = new KvSequenceOptions(dtype, r.nextInt(5) > 0, offload, 0, "");
                int decode = 1 + r.nextInt(8);
                if (generate(prompt, decode, options, r)) {
                    served++;
                }
            }
            return served;
        }

        /** Prefill then decode; on preemption (no room) gives up, on a drop rebuilds from scratch. */
        boolean generate(int[] prompt, int decode, KvSequenceOptions options, Random r) {
            int[] all = new int[prompt.length + decode];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            for (int i = prompt.length; i < all.length; i++) {
                all[i] = 3000 + (all[i - 1] * 31 + i) % 97; // "sampled" deterministically from history
            }
            for (int attempt = 0; attempt < 50; attempt++) {
                KvSequence s = cache.open("w" + seed, prompt, options);
                try {
                    verify(s, all, 0, s.length(), options.dtype());
                    boolean ok = feed(s, all, prompt.length, options.dtype()); // prefill rest
                    for (int n = prompt.length + 1; ok && n <= all.length; n++) {
                        ok = feed(s, all, n, options.dtype()); // decode one at a time
                    }
                    if (ok) {
                        verify(s, all, 0, all.length, options.dtype());
                        return true;
                    }
                    Thread.yield(); // preempted: let others finish
                } catch (KvSequenceInvalidException dropped) {
                    rebuilds.incrementAndGet(); // the cache was dropped: rebuild by re-prefill
                } finally {
                    cache.release(s);
                }
            }
            return false;
        }

        /** Brings the sequence to {@code upTo} tokens; false when the pool has no room. */
        boolean feed(KvSequence s, int[] all, int upTo, KvDType d) {
            int from = s.length();
            if (from >= upTo) {
                return true;
            }
            int missing = upTo - s.capacity();
            if (missing > 0 && !cache.allocate(s, missing)) {
                return false;
            }
            for (int pos = from; pos < upTo; pos++) {
                for (int l = 0; l < LAYOUT.layers(); l++) {
                    s.write(l, pos, Fixtures.row(0, all[pos], pos, l), 0, Fixtures.row(1, all[pos], pos, l), 0);
                }
            }
            verify(s, all, from, upTo, d);
            s.commit(all, from, upTo - from);
            return true;
        }

        static void verify(KvSequence s, int[] all, int from, int to, KvDType d) {
            float tol = d == KvDType.F32 ? 1e-6f : d == KvDType.F16 ? 1f / 1024 : 1.01f / 127;
            int hd = LAYOUT.headDim();
            float[] q = new float[hd];
            float[] dots = new float[to - from];
            float[] w = new float[to - from];
            for (int l = 0; l < LAYOUT.layers(); l++) {
                for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                    for (int i = 0; i < hd; i++) {
                        java.util.Arrays.fill(q, 0);
                        q[i] = 1;
                        s.keyDots(l, h, q, 0, from, to, dots, 0);
                        for (int t = from; t < to; t++) {
                            float want = Fixtures.value(0, all[t], t, l, h * hd + i);
                            if (Math.abs(dots[t - from] - want) > tol) {
                                throw new AssertionError(s + " " + d + " key slot " + t + " layer " + l + " head " + h
                                        + ": " + dots[t - from] + " != " + want);
                            }
                        }
                    }
                    if (to > from) {
                        java.util.Arrays.fill(w, 0);
                        int t = from + (all[to - 1] % (to - from));
                        w[t - from] = 1;
                        float[] out = new float[hd];
                        s.valueSum(l, h, w, 0, from, to, out, 0);
                        for (int i = 0; i < hd; i++) {
                            float want = Fixtures.value(1, all[t], t, l, h * hd + i);
                            if (Math.abs(out[i] - want) > tol) {
                                throw new AssertionError(s + " value slot " + t + ": " + out[i] + " != " + want);
                            }
                        }
                    }
                }
            }
        }
    }

    private PagedKvCache cache() {
        return new PagedKvCache(Fixtures.spec("v1"), Fixtures.settings(24 * F32_BLOCK_BYTES)
                .withOffHeapCapacityBytes(8 * F32_BLOCK_BYTES).withDiskCapacityBytes(16 * F32_BLOCK_BYTES)
                .withDataDirectory(dir));
    }

    private long run(PagedKvCache cache, boolean chaos, AtomicLong rebuilds) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS + 1);
        ConcurrentLinkedQueue<KvCheck> failedChecks = new ConcurrentLinkedQueue<>();
        CountDownLatch checkerDone = new CountDownLatch(1);
        try {
            List<Future<Long>> workers = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                workers.add(pool.submit(new Worker(cache, i, rebuilds)));
            }
            pool.submit(() -> {
                try {
                    while (!stop.get()) {
                        if (chaos) {
                            Thread.sleep(15);
                            cache.drop();
                        } else {
                            KvCheck c = cache.check();
                            if (!c.consistent()) {
                                failedChecks.add(c);
                            }
                            Thread.sleep(5);
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    checkerDone.countDown();
                }
                return null;
            });
            long served = 0;
            try {
                for (Future<Long> f : workers) {
                    served += f.get(60, TimeUnit.SECONDS); // rethrows a worker's wrong read
                }
            } finally {
                stop.set(true);
            }
            assertTrue(checkerDone.await(10, TimeUnit.SECONDS));
            assertTrue(failedChecks.isEmpty(), () -> failedChecks.peek().problems().toString());
            return served;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void manySequencesShareEvictOffloadAndReleaseAtOnce() throws Exception {
        PagedKvCache cache = cache();
        long served = run(cache, false, new AtomicLong());
        System.out.println("stress: served " + served + ", " + cache.usage());
        assertTrue(served > THREADS * GENERATIONS * 0.9, "served " + served);
        KvUsage u = cache.usage();
        assertEquals(0, u.sequences());
        assertEquals(0, u.usedBytes());
        assertEquals(0, u.blocksUsed());
        assertTrue(u.prefixHitTokens() > 0, "prefixes were shared");
        assertTrue(cache.check().consistent(), () -> cache.check().problems().toString());
        cache.close();
    }

    @Test
    void sequencesDroppedMidGenerationRebuildByReprefill() throws Exception {
        PagedKvCache cache = cache();
        AtomicLong rebuilds = new AtomicLong();
        long served = run(cache, true, rebuilds);
        System.out.println("chaos: served " + served + ", rebuilds " + rebuilds + ", drops " + cache.usage().drops());
        assertTrue(served > THREADS * GENERATIONS * 0.5, "served " + served);
        assertTrue(rebuilds.get() > 0, "some sequence saw a drop");
        assertTrue(cache.usage().drops() > 2);
        assertEquals(0, cache.usage().sequences());
        assertTrue(cache.check().consistent(), () -> cache.check().problems().toString());
        cache.close();
    }
}
