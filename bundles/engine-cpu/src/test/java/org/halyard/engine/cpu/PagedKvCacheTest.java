package org.halyard.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine on KV Cache++'s paged store: keys and values spread over many small blocks,
 * sequences of different lengths in one batch, a prefix served from the prefix cache, and a
 * dropped cache.
 */
class PagedKvCacheTest {

    static PagedKvCacheManager manager;
    static Model model;
    static JsonNode ref;

    @BeforeAll
    static void setUp() throws Exception {
        // 4-token blocks: every sequence spans several blocks, the 43-token prompt eleven
        manager = new PagedKvCacheManager(KvCacheSettings.defaults().withBlockSizeTokens(4).withCapacityBytes(64L << 20)
                .withOffHeapCapacityBytes(0).withDiskCapacityBytes(0).withCheckIntervalSeconds(0));
        model = Fixtures.load(Fixtures.demoF32());
        ref = Fixtures.references();
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    private static KvCache cache(String name) {
        return manager.create(new KvCacheSpec(name, model.info().version(), model.kvLayout(), KvDType.F32, 0));
    }

    private static int[] prompt(int i) {
        return Fixtures.ints(ref.get("cases").get(i).get("prompt_ids"));
    }

    @Test
    void sequencesOfDifferentLengthsOverManyBlocksInOneBatchMatchTheReference() {
        KvCache cache = cache("batch");
        int[] cases = {4, 1, 5, 2, 3};
        int n = cases.length;
        TestSequence[] seqs = new TestSequence[n];
        KvSequence[] kvs = new KvSequence[n];
        int decode = 16;
        for (int i = 0; i < n; i++) {
            seqs[i] = new TestSequence(prompt(cases[i]));
            kvs[i] = cache.open("s" + i, prompt(cases[i]), new KvSequenceOptions(KvDType.F32, false, false, 0, ""));
            assertTrue(cache.allocate(kvs[i], seqs[i].length() + decode - kvs[i].capacity()));
        }
        float[][] promptLogits = new float[n][];
        // step 1: every prompt at once; then decode steps with all sequences
        while (true) {
            List<StepEntry> entries = new ArrayList<>();
            List<Integer> who = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (seqs[i].output().length < decode) {
                    int start = kvs[i].length();
                    entries.add(new StepEntry(seqs[i], kvs[i], start, seqs[i].length() - start, true, start == 0));
                    who.add(i);
                }
            }
            if (entries.isEmpty()) {
                break;
            }
            StepResult r = model.step(entries);
            for (int j = 0; j < entries.size(); j++) {
                int i = who.get(j);
                StepEntry e = entries.get(j);
                int[] fed = new int[e.count()];
                for (int t = 0; t < fed.length; t++) {
                    fed[t] = seqs[i].token(e.start() + t);
                }
                kvs[i].commit(fed, 0, fed.length);
                if (e.returnLogits()) {
                    promptLogits[i] = r.logits(j);
                }
                seqs[i].append(r.sample(j).token());
            }
        }
        for (int i = 0; i < n; i++) {
            JsonNode c = ref.get("cases").get(cases[i]);
            float diff = Fixtures.maxAbsDiff(Fixtures.floats(c.get("last_logits_raw")), promptLogits[i]);
            assertTrue(diff < 1e-3f, "case " + cases[i] + ": " + diff);
            int[] expected = Fixtures.ints(c.get("greedy_raw"));
            int[] got = java.util.Arrays.copyOf(seqs[i].output(), Math.min(decode, expected.length));
            assertArrayEquals(java.util.Arrays.copyOf(expected, got.length), got, "case " + cases[i]);
            cache.release(kvs[i]);
        }
        cache.close();
    }

    @Test
    void aPromptPrefixServedFromThePrefixCacheGivesTheSameLogits() {
        KvCache cache = cache("prefix");
        int[] p = prompt(4);
        KvSequence first = cache.open("first", p, KvSequenceOptions.of(KvDType.F32));
        assertEquals(0, first.length());
        assertTrue(cache.allocate(first, p.length - first.capacity()));
        TestSequence s1 = new TestSequence(p);
        float[] full = model.step(List.of(new StepEntry(s1, first, 0, p.length, false, true))).logits(0);
        first.commit(p, 0, p.length);
        cache.release(first);

        KvSequence second = cache.open("second", p, KvSequenceOptions.of(KvDType.F32));
        assertTrue(second.length() >= 40, "full 4-token blocks of the 43-token prompt are shared: " + second.length());
        assertEquals(second.length(), second.cachedPrefixLength());
        assertTrue(cache.allocate(second, p.length - second.capacity()));
        int start = second.length();
        float[] tail = model.step(List.of(new StepEntry(new TestSequence(p), second, start, p.length - start, false, true)))
                .logits(0);
        assertTrue(Fixtures.maxAbsDiff(full, tail) < 1e-5f, "prefix-cached vs computed");
        cache.release(second);
        cache.close();
    }

    @Test
    void aDroppedCacheInvalidatesItsSequencesAndTheStepSaysSo() {
        KvCache cache = cache("drop");
        int[] p = prompt(1);
        KvSequence kv = cache.open("d", p, KvSequenceOptions.of(KvDType.F32));
        assertTrue(cache.allocate(kv, p.length + 4 - kv.capacity()));
        cache.drop();
        assertThrows(KvSequenceInvalidException.class,
                () -> model.step(List.of(StepEntry.sampling(new TestSequence(p), kv, 0, p.length))));
        cache.release(kv);
        cache.close();
    }
}
