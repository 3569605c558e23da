package org.halyard.itest.kvcache;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * KV Cache++ under the real engine and the demo model (outside OSGi): prefix-cached, wiped and
 * rebuilt, offloaded and quantised generations against the reference outputs of
 * models/halyard-shakespeare-moe.
 */
public class KvCacheEngineTest {

    private static DemoModel demo;
    private static Path dataDir;

    @BeforeClass
    public static void load() throws Exception {
        demo = new DemoModel();
        dataDir = Files.createTempDirectory("kvcache-engine-test");
    }

    @AfterClass
    public static void cleanUp() {
        org.halyard.kvcache.impl.tier.DataDirectory.deleteTree(dataDir);
    }

    private static PagedKvCacheManager manager(int blockTokens, long hotBytes, long offHeapBytes, long diskBytes) {
        return new PagedKvCacheManager(KvCacheSettings.defaults().withBlockSizeTokens(blockTokens)
                .withCapacityBytes(hotBytes).withOffHeapCapacityBytes(offHeapBytes).withDiskCapacityBytes(diskBytes)
                .withDataDirectory(dataDir).withCheckIntervalSeconds(0));
    }

    private static KvCache cache(PagedKvCacheManager m) {
        return m.create(new KvCacheSpec("demo", demo.model.info().version(), demo.model.kvLayout(), KvDType.F32, 0));
    }

    private static KvSequenceOptions options(KvDType d, boolean prefix, boolean offload) {
        return new KvSequenceOptions(d, prefix, offload, 0, "");
    }

    @Test
    public void cachedAndUncachedGenerationProduceIdenticalTokens() {
        try (PagedKvCacheManager m = manager(4, 64L << 20, 0, 0)) {
            long hits = 0;
            for (int c = 0; c < demo.cases(); c++) {
                int[] prompt = demo.prompt(c);
                int[] want = demo.greedy(c);
                try (KvCache cache = cache(m)) { // a cold cache per prompt: the first run computes everything
                    DemoModel.Generation cold = demo.generate(cache, prompt, want.length, options(KvDType.F32, true, false), 0);
                    assertEquals(0, cold.cachedPrefix());
                    assertArrayEquals("case " + c + " uncached", want, cold.tokens());
                    DemoModel.Generation cached = demo.generate(cache, prompt, want.length, options(KvDType.F32, true, false), 0);
                    assertArrayEquals("case " + c + " cached", want, cached.tokens());
                    // every full prompt block is reused; a wholly cached prompt recomputes its last token
                    int expected = prompt.length < 4 ? 0 : prompt.length % 4 == 0 ? prompt.length - 1 : prompt.length / 4 * 4;
                    assertEquals("case " + c, expected, cached.cachedPrefix());
                    hits += cache.usage().prefixHitTokens();
                }
            }
            assertEquals(4 + 4 + 7 + 40 + 24, hits);
            // a prompt sharing only its first 32 tokens with a cached one, and a prompt that is
            // wholly cached (its last block is copied to compute the last token again)
            try (KvCache cache = cache(m)) {
                int[] long43 = demo.prompt(4);
                demo.generate(cache, long43, 8, options(KvDType.F32, true, false), 0);
                int[] shared = Arrays.copyOf(long43, 40);
                System.arraycopy(demo.prompt(5), 1, shared, 32, 8);
                int[] whole = Arrays.copyOf(long43, 40);
                for (int[] prompt : new int[][] {shared, whole}) {
                    int[] uncached = demo.generate(cache, prompt, 24, options(KvDType.F32, false, false), 0).tokens();
                    DemoModel.Generation cached = demo.generate(cache, prompt, 24, options(KvDType.F32, true, false), 0);
                    assertEquals(prompt == whole ? 39 : 32, cached.cachedPrefix());
                    assertArrayEquals(uncached, cached.tokens());
                }
                assertEquals(0, cache.usage().usedBytes());
                assertTrue(cache.check().consistent());
            }
        }
    }

    @Test
    public void aCacheWipedMidGenerationRebuildsByReprefillAndGivesTheSameOutput() {
        try (PagedKvCacheManager m = manager(16, 64L << 20, 0, 0)) {
            KvCache cache = cache(m);
            for (int c : new int[] {0, 4, 5}) {
                int[] want = demo.greedy(c);
                DemoModel.Generation undisturbed = demo.generate(cache, demo.prompt(c), want.length,
                        options(KvDType.F32, true, false), 0);
                DemoModel.Generation wiped = demo.generate(cache, demo.prompt(c), want.length,
                        options(KvDType.F32, true, false), want.length / 2);
                assertEquals("case " + c, 1, wiped.rebuilds());
                assertArrayEquals("case " + c, undisturbed.tokens(), wiped.tokens());
                assertArrayEquals("case " + c, want, wiped.tokens());
            }
            assertEquals(3, cache.usage().drops());
        }
    }

    @Test
    public void offloadedSequencesReadTheirColdBlocksInPlaceAndGiveTheReferenceOutput() {
        // 4-token blocks of the demo model are 8 KiB: 5 in the hot tier (a 16-token prefill chunk
        // and the block being decoded into), 4 off-heap, the rest on disk
        long block = 4L * demo.model.kvLayout().valuesPerToken() * 4;
        try (PagedKvCacheManager m = manager(4, 5 * block, 4 * block, 64 * block)) {
            KvCache cache = cache(m);
            int[] want = demo.greedy(4);
            DemoModel.Generation plain = null;
            try {
                plain = demo.generate(cache, demo.prompt(4), want.length, options(KvDType.F32, false, false), 0);
            } catch (IllegalStateException expected) {
                // without offload, 91 tokens do not fit 20 hot slots
            }
            assertEquals(null, plain);
            long[] most = new long[3];
            demo.afterStep = () -> {
                KvUsage u = cache.usage();
                most[0] = Math.max(most[0], u.usedBytes());
                most[1] = Math.max(most[1], u.offHeapBytes());
                most[2] = Math.max(most[2], u.diskBytes());
            };
            int[] got;
            try {
                got = demo.generate(cache, demo.prompt(4), want.length, options(KvDType.F32, false, true), 0).tokens();
            } finally {
                demo.afterStep = null;
            }
            assertArrayEquals(want, got);
            assertTrue("hot " + most[0], most[0] <= 5 * block);
            assertEquals(4 * block, most[1]);
            assertTrue("disk " + most[2], most[2] >= 10 * block); // 91 tokens: 23 blocks, at most 9 above disk
            assertEquals(0, cache.usage().diskBytes()); // released: the files went with the blocks
            assertTrue(cache.check().consistent());
        }
    }

    @Test
    public void quantisedBlocksKeepGreedyOutputsAndStayCloseInLogits() {
        for (KvDType d : KvDType.values()) {
            Quality q = quality(demo, d, 4);
            System.out.println(q);
            float logitBound = d == KvDType.F32 ? 1e-3f : d == KvDType.F16 ? 0.01f : 0.05f;
            assertTrue(q.toString(), q.maxLogitError() < logitBound);
            assertTrue(q.toString(), q.agreement() >= (d == KvDType.INT8 ? 0.95 : 0.99));
            assertTrue(q.toString(), d == KvDType.F32 || q.exact() >= q.prompts() - 1);
        }
    }

    /**
     * How a block type changes the demo model's outputs over the reference prompts.
     *
     * @param maxLogitError largest |logit - reference| at the last prompt position, all prompts
     * @param rmsLogitError its root mean square
     * @param agreement share of reference continuation positions where the greedy choice, fed the
     *     reference tokens so far, is the reference token
     * @param exact prompts whose free-running greedy continuation equals the reference
     */
    record Quality(KvDType dtype, int blockTokens, double maxLogitError, double rmsLogitError, double agreement,
            int agreed, int positions, int exact, int prompts) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s (%d-token blocks): last-position logits max |error| %.5f, rms %.5f;"
                    + " teacher-forced greedy agreement %d/%d (%.1f%%)%s", dtype, blockTokens, maxLogitError,
                    rmsLogitError, agreed, positions, 100 * agreement,
                    dtype == KvDType.F32 ? "" : "; free-running continuations equal " + exact + "/" + prompts);
        }
    }

    static Quality quality(DemoModel demo, KvDType d, int blockTokens) {
        try (PagedKvCacheManager m = new PagedKvCacheManager(KvCacheSettings.defaults().withBlockSizeTokens(blockTokens)
                .withCapacityBytes(64L << 20).withOffHeapCapacityBytes(0).withDiskCapacityBytes(0)
                .withCheckIntervalSeconds(0))) {
            KvCache cache = m.create(new KvCacheSpec("demo", demo.model.info().version(), demo.model.kvLayout(),
                    KvDType.F32, 0));
            double max = 0;
            double sumSq = 0;
            long n = 0;
            int agreed = 0;
            int positions = 0;
            int exact = 0;
            for (int c = 0; c < demo.cases(); c++) {
                int[] prompt = demo.prompt(c);
                int[] want = demo.greedy(c);
                float[] wantLogits = demo.lastLogits(c);
                // all prompt tokens but the last first, committed, so full blocks are sealed (quantised)
                // before the last position reads them
                DemoModel.Request r = new DemoModel.Request(prompt);
                KvSequence kv = cache.open("q", prompt, options(d, false, false));
                cache.allocate(kv, prompt.length + want.length);
                if (prompt.length > 1) {
                    demo.model.step(List.of(new StepEntry(r, kv, 0, prompt.length - 1, false, false)));
                    kv.commit(prompt, 0, prompt.length - 1);
                }
                StepResult last = demo.model.step(List.of(new StepEntry(r, kv, prompt.length - 1, 1, true, true)));
                kv.commit(prompt, prompt.length - 1, 1);
                float[] logits = last.logits(0);
                for (int i = 0; i < logits.length; i++) {
                    double e = Math.abs(logits[i] - wantLogits[i]);
                    max = Math.max(max, e);
                    sumSq += e * e;
                    n++;
                }
                // teacher forcing: feed the reference continuation, compare each greedy choice
                int choice = argmax(logits);
                for (int i = 0; i < want.length; i++) {
                    positions++;
                    agreed += choice == want[i] ? 1 : 0;
                    if (want[i] == DemoModel.EOS || i == want.length - 1) {
                        break;
                    }
                    r.append(want[i]);
                    StepResult s = demo.model.step(List.of(new StepEntry(r, kv, r.length() - 1, 1, false, true)));
                    kv.commit(new int[] {want[i]}, 0, 1);
                    choice = argmax(s.logits(0));
                }
                cache.release(kv);
                // free-running (F32 is the cached/uncached test's business)
                if (d != KvDType.F32
                        && Arrays.equals(want, demo.generate(cache, prompt, want.length, options(d, false, false), 0).tokens())) {
                    exact++;
                }
            }
            return new Quality(d, blockTokens, max, Math.sqrt(sumSq / n), (double) agreed / positions, agreed, positions,
                    exact, demo.cases());
        }
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
