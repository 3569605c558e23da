package org.halyard.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.StepEntry;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a sliding window needs from the engine: stored keys moved to other positions
 * ({@code Model.shiftPositions}, the K-shift) and steps that write at a slot below the token's
 * index ({@code StepEntry.slot}). Layer 0's keys depend only on the token and its position
 * (k = RoPE(Wk RMSNorm(embedding))), so a key shifted by d must equal the key computed at the
 * position d further; both RoPE layouts (GGUF adjacent pairs, Hugging Face rotate-half) are run.
 */
class SlidingWindowTest {

    static PagedKvCacheManager manager;

    @BeforeAll
    static void setUp() {
        manager = new PagedKvCacheManager(KvCacheSettings.defaults().withBlockSizeTokens(8).withCapacityBytes(16L << 20)
                .withOffHeapCapacityBytes(0).withDiskCapacityBytes(0).withCheckIntervalSeconds(0));
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    private static Model model(String which) throws Exception {
        return which.equals("gguf") ? Fixtures.load(Fixtures.demoF32()) : Fixtures.load(Fixtures.checkpoint());
    }

    private static KvSequence prefill(Model model, KvCache cache, String id, int[] tokens) {
        KvSequence kv = cache.open(id, tokens, new KvSequenceOptions(KvDType.F32, false, false, 0, ""));
        assertTrue(cache.allocate(kv, tokens.length));
        model.step(List.of(StepEntry.prefill(new TestSequence(tokens), kv, 0, tokens.length)));
        kv.commit(tokens, 0, tokens.length);
        return kv;
    }

    /** The key of one slot, read back through keyDots with one-hot queries. */
    private static float[] key(KvSequence kv, int layer, int head, int slot, int headDim) {
        float[] k = new float[headDim];
        float[] q = new float[headDim];
        float[] out = new float[1];
        for (int i = 0; i < headDim; i++) {
            Arrays.fill(q, 0f);
            q[i] = 1f;
            kv.keyDots(layer, head, q, 0, slot, slot + 1, out, 0);
            k[i] = out[0];
        }
        return k;
    }

    private static float maxKeyDiff(KvSequence a, int aFrom, KvSequence b, int bFrom, int n, int layer, Model m) {
        float max = 0;
        for (int i = 0; i < n; i++) {
            for (int h = 0; h < m.kvLayout().kvHeads(); h++) {
                max = Math.max(max, Fixtures.maxAbsDiff(key(a, layer, h, aFrom + i, m.kvLayout().headDim()),
                        key(b, layer, h, bFrom + i, m.kvLayout().headDim())));
            }
        }
        return max;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gguf", "safetensors"})
    void aShiftedKeyEqualsTheKeyComputedAtTheNewPosition(String format) throws Exception {
        Model m = model(format);
        KvCache cache = manager.create(new KvCacheSpec("shift-" + format, m.info().version(), m.kvLayout(), KvDType.F32, 0));
        int[] text = m.tokenizer().encode("ROMEO:\nBut, soft! what light through yonder window breaks?", true, false);
        int d = 40;
        int[] padded = new int[d + text.length];
        Arrays.fill(padded, 0, d, text[3]);
        System.arraycopy(text, 0, padded, d, text.length);
        KvSequence near = prefill(m, cache, "near", text);     // text at positions 0 ..
        KvSequence far = prefill(m, cache, "far", padded);     // text at positions d ..

        assertTrue(maxKeyDiff(near, 0, far, d, text.length, 0, m) > 0.1f, "positions change layer-0 keys");

        assertTrue(m.shiftPositions(near, 0, text.length, d));
        assertTrue(maxKeyDiff(near, 0, far, d, text.length, 0, m) < 1e-4f, "moved forward by d");

        assertTrue(m.shiftPositions(far, d, padded.length, -d));
        assertTrue(m.shiftPositions(near, 0, text.length, -d));
        assertTrue(maxKeyDiff(near, 0, far, d, text.length, 0, m) < 1e-4f, "both moved back");
        cache.close();
    }

    @Test
    void afterADiscardStepsWriteAtTheSlotNotTheIndex() throws Exception {
        Model m = model("gguf");
        KvCache cache = manager.create(new KvCacheSpec("slot", m.info().version(), m.kvLayout(), KvDType.F32, 0));
        int[] tokens = m.tokenizer().encode("JULIET:\nO Romeo, Romeo! wherefore art thou Romeo? Deny thy father "
                + "and refuse thy name;", true, false);
        assertTrue(tokens.length > 24, "the test needs three blocks: " + tokens.length);
        int[] prompt = Arrays.copyOf(tokens, 24);
        KvSequence kv = prefill(m, cache, "s", prompt);

        // drop slots [8, 16): first move the keys behind them down by 8, then the blocks go
        assertTrue(m.shiftPositions(kv, 16, 24, -8));
        cache.discard(kv, 8, 16);
        assertEquals(16, kv.length());

        TestSequence seq = new TestSequence(Arrays.copyOf(tokens, 25));
        assertTrue(cache.allocate(kv, 1));
        assertThrows(IllegalArgumentException.class,
                () -> m.step(List.of(new StepEntry(seq, kv, 24, 1, true, true))), "slot 24 is not the KV's length");
        var r = m.step(List.of(new StepEntry(seq, kv, 24, 1, true, true, 16)));
        kv.commit(tokens, 24, 1);
        assertEquals(17, kv.length());
        float[] logits = r.logits(0);
        for (float x : logits) {
            assertFalse(Float.isNaN(x));
        }
        // the window is what the model attends to now: the same as a fresh prefill of
        // tokens 0-7 and 16-24 at positions 0-16 in layer 0's keys
        int[] kept = new int[17];
        System.arraycopy(tokens, 0, kept, 0, 8);
        System.arraycopy(tokens, 16, kept, 8, 9);
        KvSequence fresh = prefill(m, cache, "fresh", kept);
        assertTrue(maxKeyDiff(kv, 0, fresh, 0, 17, 0, m) < 1e-4f);
        cache.close();
    }
}
