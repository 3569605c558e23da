package org.halyard.itest.kvcache;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;

/**
 * Time to first token of a request whose first 90% of tokens are in the prefix cache, as a ratio
 * to the same request cold (the goal is at most 0.15), on the demo model and the CPU engine (one
 * thread). Prints figures, asserts nothing. Run it with
 *
 * <pre>
 *   ./mvnw -B -q -pl itests -am verify -DskipTests -Pbench
 * </pre>
 *
 * It also prints what F16 and INT8 blocks do to the outputs over the reference prompts (logit error
 * at the last prompt position, greedy agreement) at 16- and 4-token blocks.
 *
 * <p>TTFT here is what the serving path adds up to for one request: open (hashing the prompt's
 * blocks and looking them up), allocate, the prefill step over the uncached tokens, commit, and the
 * sampled first token.
 */
public final class PrefixCacheBenchmark {

    private PrefixCacheBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        DemoModel demo = new DemoModel();
        int promptTokens = 160;
        int cachedTokens = 144; // 90%: nine 16-token blocks
        System.out.println("Prefix cache TTFT: demo model (" + demo.model.info().parameters() + " parameters), "
                + promptTokens + "-token prompts, first " + cachedTokens + " cached, 16-token blocks, one thread");
        for (KvDType d : new KvDType[] {KvDType.F32, KvDType.INT8}) {
            try (PagedKvCacheManager m = new PagedKvCacheManager(KvCacheSettings.defaults().withCapacityBytes(256L << 20)
                    .withOffHeapCapacityBytes(0).withDiskCapacityBytes(0).withCheckIntervalSeconds(0))) {
                KvCache cache = m.create(new KvCacheSpec("demo", demo.model.info().version(), demo.model.kvLayout(), d, 0));
                Random rnd = new Random(1);
                int warmup = d == KvDType.F32 ? 30 : 10; // the first loop also warms up the engine's JIT
                int rounds = warmup + 30;
                long[] cold = new long[rounds - warmup];
                long[] warm = new long[rounds - warmup];
                for (int round = 0; round < rounds; round++) {
                    int[] prompt = new int[promptTokens];
                    prompt[0] = 1;
                    for (int i = 1; i < promptTokens; i++) {
                        prompt[i] = 3 + rnd.nextInt(1000);
                    }
                    long c = ttft(demo, cache, prompt, d); // a prefix nobody sent before
                    int[] sameStart = prompt.clone();
                    for (int i = cachedTokens; i < promptTokens; i++) {
                        sameStart[i] = 3 + rnd.nextInt(1000);
                    }
                    long w = ttft(demo, cache, sameStart, d); // its first 144 tokens are cached now
                    if (round >= warmup) {
                        cold[round - warmup] = c;
                        warm[round - warmup] = w;
                    }
                }
                Arrays.sort(cold);
                Arrays.sort(warm);
                double coldMs = cold[cold.length / 2] / 1e6;
                double warmMs = warm[warm.length / 2] / 1e6;
                System.out.printf(Locale.ROOT, "  %-5s cold %7.2f ms   90%% cached %6.2f ms   ratio %.3f   (median of %d;"
                        + " hit rate %.1f%%)%n", d, coldMs, warmMs, warmMs / coldMs, cold.length,
                        100 * cache.usage().prefixHitRate());
            }
        }
        System.out.println();
        System.out.println("Block types against the reference outputs (" + demo.cases() + " prompts)");
        for (int blockTokens : new int[] {16, 4}) {
            for (KvDType d : KvDType.values()) {
                System.out.println("  " + KvCacheEngineTest.quality(demo, d, blockTokens));
            }
        }
    }

    static long ttft(DemoModel demo, KvCache cache, int[] prompt, KvDType d) {
        long t0 = System.nanoTime();
        KvSequence kv = cache.open("bench", prompt, KvSequenceOptions.of(d));
        try {
            if (!cache.allocate(kv, prompt.length - kv.capacity())) {
                throw new IllegalStateException("no room");
            }
            int start = kv.length();
            StepResult r = demo.model.step(List.of(new StepEntry(new DemoModel.Request(prompt), kv, start,
                    prompt.length - start, true, false)));
            kv.commit(prompt, start, prompt.length - start);
            if (r.sample(0).token() < 0) {
                throw new IllegalStateException("no token");
            }
            return System.nanoTime() - t0;
        } finally {
            cache.release(kv);
        }
    }
}
