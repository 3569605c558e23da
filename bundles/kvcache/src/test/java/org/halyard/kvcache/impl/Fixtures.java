package org.halyard.kvcache.impl;

import java.nio.file.Path;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;

/**
 * Tiny caches for tests: 2 layers, 2 KV heads of 4 values, 4-token blocks, so one F32 block is
 * 2 sides x 2 layers x 2 heads x 4 tokens x 4 values x 4 bytes = 512 bytes. Keys and values are a
 * pure function of (token, position, layer, index), like a model's, so two sequences with the
 * same prefix hold the same values.
 */
final class Fixtures {

    static final KvLayout LAYOUT = new KvLayout(2, 2, 4);
    static final int BLOCK = 4;
    static final long F32_BLOCK_BYTES = 512;

    private Fixtures() {
    }

    static KvCacheSettings settings(long capacityBytes) {
        return KvCacheSettings.defaults().withBlockSizeTokens(BLOCK).withCapacityBytes(capacityBytes)
                .withOffHeapCapacityBytes(0).withDiskCapacityBytes(0).withCheckIntervalSeconds(0)
                .withDataDirectory(Path.of(System.getProperty("java.io.tmpdir"), "halyard-kvcache-test"));
    }

    /** A cache of {@code blocks} F32 blocks. */
    static PagedKvCache cache(int blocks) {
        return new PagedKvCache(spec("v1"), settings(blocks * F32_BLOCK_BYTES));
    }

    static KvCacheSpec spec(String version) {
        return new KvCacheSpec("test", version, LAYOUT, KvDType.F32, 0);
    }

    static KvSequenceOptions f32() {
        return KvSequenceOptions.of(KvDType.F32);
    }

    static int[] tokens(int... t) {
        return t;
    }

    static int[] range(int from, int to) {
        int[] t = new int[to - from];
        for (int i = 0; i < t.length; i++) {
            t[i] = from + i;
        }
        return t;
    }

    /** The key (side 0) or value (side 1) the "model" computes for a token at a position. */
    static float value(int side, int token, int position, int layer, int i) {
        return (float) Math.sin(0.37 * token + 0.11 * position + 1.3 * layer + 0.7 * i + 2.1 * side);
    }

    static float[] row(int side, int token, int position, int layer) {
        float[] r = new float[LAYOUT.kvDim()];
        for (int i = 0; i < r.length; i++) {
            r[i] = value(side, token, position, layer, i);
        }
        return r;
    }

    /**
     * Feeds {@code tokens[length..]} as the engine and scheduler would: allocates what is missing,
     * writes every layer of each new slot, commits.
     */
    static void prefill(PagedKvCache cache, KvSequence s, int[] tokens) {
        int from = s.length();
        int missing = tokens.length - s.capacity();
        if (missing > 0 && !cache.allocate(s, missing)) {
            throw new IllegalStateException("no room for " + missing + " tokens");
        }
        for (int pos = from; pos < tokens.length; pos++) {
            for (int l = 0; l < LAYOUT.layers(); l++) {
                s.write(l, pos, row(0, tokens[pos], pos, l), 0, row(1, tokens[pos], pos, l), 0);
            }
        }
        s.commit(tokens, from, tokens.length - from);
    }

    static float[] copy(float[] a, int from, int n) {
        return java.util.Arrays.copyOfRange(a, from, from + n);
    }

    /** Reads the key of one slot back through keyDots with one-hot queries. */
    static float[] readKey(KvSequence s, int layer, int head, int slot) {
        int hd = LAYOUT.headDim();
        float[] key = new float[hd];
        float[] q = new float[hd];
        float[] out = new float[1];
        for (int i = 0; i < hd; i++) {
            java.util.Arrays.fill(q, 0f);
            q[i] = 1f;
            s.keyDots(layer, head, q, 0, slot, slot + 1, out, 0);
            key[i] = out[0];
        }
        return key;
    }

    /** Reads the value of one slot back through valueSum with weight 1. */
    static float[] readValue(KvSequence s, int layer, int head, int slot) {
        float[] out = new float[LAYOUT.headDim()];
        s.valueSum(layer, head, new float[] {1f}, 0, slot, slot + 1, out, 0);
        return out;
    }
}
