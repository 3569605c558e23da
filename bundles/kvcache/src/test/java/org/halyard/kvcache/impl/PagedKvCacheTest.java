package org.halyard.kvcache.impl;

import static org.halyard.kvcache.impl.Fixtures.BLOCK;
import static org.halyard.kvcache.impl.Fixtures.F32_BLOCK_BYTES;
import static org.halyard.kvcache.impl.Fixtures.LAYOUT;
import static org.halyard.kvcache.impl.Fixtures.cache;
import static org.halyard.kvcache.impl.Fixtures.f32;
import static org.halyard.kvcache.impl.Fixtures.prefill;
import static org.halyard.kvcache.impl.Fixtures.range;
import static org.halyard.kvcache.impl.Fixtures.readKey;
import static org.halyard.kvcache.impl.Fixtures.readValue;
import static org.halyard.kvcache.impl.Fixtures.row;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.halyard.kvcache.api.KvCheck;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;
import org.junit.jupiter.api.Test;

/** The block pool and block tables, on pools of a few 4-token blocks with exact block ids. */
class PagedKvCacheTest {

    private static int[] ids(KvSequence s) {
        return ((PagedKvSequence) s).blockIds();
    }

    private static KvSequenceOptions noPrefix() {
        return new KvSequenceOptions(KvDType.F32, false, false, 0, "");
    }

    @Test
    void allocateTakesBlocksInIdOrderAndAccountsBytes() {
        PagedKvCache c = cache(4);
        KvSequence a = c.open("a", range(0, 6), f32());
        assertEquals(0, a.length());
        assertEquals(0, a.capacity());
        assertTrue(c.allocate(a, 6));
        assertEquals(6, a.capacity());
        assertArrayEquals(new int[] {0, 1}, ids(a));
        KvSequence b = c.open("b", range(100, 103), f32());
        assertTrue(c.allocate(b, 3));
        assertArrayEquals(new int[] {2}, ids(b));

        KvUsage u = c.usage();
        assertEquals(BLOCK, u.blockSizeTokens());
        assertEquals(4 * F32_BLOCK_BYTES, u.capacityBytes());
        assertEquals(3 * F32_BLOCK_BYTES, u.usedBytes());
        assertEquals(F32_BLOCK_BYTES, u.freeBytes());
        assertEquals(0, u.cachedBytes());
        assertEquals(0, u.sharedBytes());
        assertEquals(3, u.blocksUsed());
        assertEquals(2, u.sequences());
    }

    @Test
    void allocateWithinTheLastBlockNeedsNoNewBlock() {
        PagedKvCache c = cache(4);
        KvSequence a = c.open("a", new int[0], f32());
        assertTrue(c.allocate(a, 1));
        assertTrue(c.allocate(a, 3));
        assertEquals(4, a.capacity());
        assertArrayEquals(new int[] {0}, ids(a));
        assertTrue(c.allocate(a, 1));
        assertArrayEquals(new int[] {0, 1}, ids(a));
        assertTrue(c.allocate(a, 0));
        assertEquals(5, a.capacity());
    }

    @Test
    void allocateReturnsFalseWhenPoolExhaustedAndLeavesTheSequenceAsItWas() {
        PagedKvCache c = cache(2);
        KvSequence a = c.open("a", new int[0], f32());
        assertTrue(c.allocate(a, 8));
        KvSequence b = c.open("b", new int[0], f32());
        assertFalse(c.allocate(b, 1));
        assertEquals(0, b.capacity());
        assertArrayEquals(new int[0], ids(b));
        assertFalse(c.allocate(a, 1));
        assertEquals(8, a.capacity());
        assertArrayEquals(new int[] {0, 1}, ids(a));
        assertEquals(0, c.usage().freeBytes());
    }

    @Test
    void releaseFreesUncachedBlocksAndTheirIdsAreReused() {
        PagedKvCache c = cache(2);
        KvSequence a = c.open("a", range(0, 8), noPrefix());
        prefill(c, a, range(0, 8));
        assertArrayEquals(new int[] {0, 1}, ids(a));
        c.release(a);
        assertFalse(a.valid());
        KvUsage u = c.usage();
        assertEquals(0, u.usedBytes());
        assertEquals(0, u.cachedBytes());
        assertEquals(2 * F32_BLOCK_BYTES, u.freeBytes());
        KvSequence b = c.open("b", range(0, 8), noPrefix());
        assertEquals(0, b.length());
        assertTrue(c.allocate(b, 8));
        // released last block first: its id comes back first
        assertArrayEquals(new int[] {1, 0}, ids(b));
    }

    @Test
    void releaseIsSafeTwiceAndRejectsAnotherCachesSequence() {
        PagedKvCache c = cache(2);
        KvSequence a = c.open("a", new int[0], f32());
        c.release(a);
        c.release(a);
        assertEquals(0, c.usage().sequences());
        PagedKvCache other = cache(2);
        KvSequence foreign = other.open("x", new int[0], f32());
        assertThrows(IllegalArgumentException.class, () -> c.release(foreign));
        assertThrows(IllegalArgumentException.class, () -> c.allocate(foreign, 1));
    }

    @Test
    void writtenKeysAndValuesReadBackExactlyAcrossBlocks() {
        PagedKvCache c = cache(4);
        int[] tokens = range(10, 19);
        KvSequence a = c.open("a", tokens, f32());
        prefill(c, a, tokens);
        assertEquals(9, a.length());
        for (int pos = 0; pos < tokens.length; pos++) {
            for (int l = 0; l < LAYOUT.layers(); l++) {
                for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                    float[] k = java.util.Arrays.copyOfRange(row(0, tokens[pos], pos, l), h * 4, h * 4 + 4);
                    float[] v = java.util.Arrays.copyOfRange(row(1, tokens[pos], pos, l), h * 4, h * 4 + 4);
                    assertArrayEquals(k, readKey(a, l, h, pos), 1e-6f);
                    assertArrayEquals(v, readValue(a, l, h, pos), 1e-6f);
                }
            }
        }
        // attention over all slots at once equals the naive sums
        Random r = new Random(1);
        float[] q = new float[4];
        float[] w = new float[tokens.length];
        for (int i = 0; i < 4; i++) {
            q[i] = r.nextFloat() - 0.5f;
        }
        for (int t = 0; t < w.length; t++) {
            w[t] = r.nextFloat();
        }
        float[] dots = new float[tokens.length + 2];
        a.keyDots(1, 1, q, 0, 0, tokens.length, dots, 2);
        float[] sum = new float[6];
        a.valueSum(1, 1, w, 0, 0, tokens.length, sum, 1);
        float[] expected = new float[4];
        for (int t = 0; t < tokens.length; t++) {
            float d = 0;
            for (int i = 0; i < 4; i++) {
                d += q[i] * Fixtures.value(0, tokens[t], t, 1, 4 + i);
                expected[i] += w[t] * Fixtures.value(1, tokens[t], t, 1, 4 + i);
            }
            assertEquals(d, dots[2 + t], 1e-5f);
        }
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(sum, 1, 5), 1e-5f);
        assertEquals(0f, sum[0]);
        assertEquals(0f, sum[5]);
    }

    @Test
    void slotsOutsideTheWritableRangeAreRejected() {
        PagedKvCache c = cache(4);
        KvSequence a = c.open("a", range(0, 3), f32());
        prefill(c, a, range(0, 3));
        float[] kv = new float[LAYOUT.kvDim()];
        assertThrows(IndexOutOfBoundsException.class, () -> a.write(0, 2, kv, 0, kv, 0)); // committed
        assertThrows(IndexOutOfBoundsException.class, () -> a.write(0, 3, kv, 0, kv, 0)); // not allocated
        assertTrue(c.allocate(a, 1));
        a.write(0, 3, kv, 0, kv, 0);
        assertThrows(IndexOutOfBoundsException.class, () -> a.write(2, 3, kv, 0, kv, 0)); // no layer 2
        assertThrows(IndexOutOfBoundsException.class, () -> a.keyDots(0, 2, kv, 0, 0, 1, kv, 0)); // no head 2
        assertThrows(IndexOutOfBoundsException.class, () -> a.keyDots(0, 0, kv, 0, 0, 5, new float[5], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> a.commit(new int[] {1, 2}, 0, 2));
        assertThrows(IllegalArgumentException.class, () -> c.allocate(a, -1));
        a.commit(new int[] {7}, 0, 1);
        assertEquals(4, a.length());
    }

    @Test
    void identicalPromptsShareFullBlocks() {
        PagedKvCache c = cache(8);
        int[] prompt = range(0, 10);
        KvSequence a = c.open("a", prompt, f32());
        prefill(c, a, prompt);
        assertArrayEquals(new int[] {0, 1, 2}, ids(a));

        KvSequence b = c.open("b", prompt, f32());
        assertEquals(8, b.cachedPrefixLength());
        assertEquals(8, b.length());
        assertEquals(8, b.capacity());
        assertArrayEquals(new int[] {0, 1}, ids(b));
        assertArrayEquals(readKey(a, 1, 0, 5), readKey(b, 1, 0, 5));
        prefill(c, b, prompt);
        assertArrayEquals(new int[] {0, 1, 3}, ids(b));

        KvUsage u = c.usage();
        assertEquals(2 * F32_BLOCK_BYTES, u.sharedBytes());
        assertEquals(4 * F32_BLOCK_BYTES, u.usedBytes());
        assertEquals(8, u.prefixHitTokens());
        assertEquals(12, u.prefixMissTokens());
        assertEquals(0.4, u.prefixHitRate(), 1e-9);
    }

    @Test
    void aPromptThatIsCachedWhollyCopiesItsLastBlockToComputeTheLastToken() {
        PagedKvCache c = cache(4);
        int[] prompt = range(0, 8);
        KvSequence a = c.open("a", prompt, f32());
        prefill(c, a, prompt);
        c.release(a);
        assertEquals(2 * F32_BLOCK_BYTES, c.usage().cachedBytes());

        KvSequence b = c.open("b", prompt, f32());
        assertEquals(7, b.length());
        assertEquals(7, b.cachedPrefixLength());
        assertEquals(8, b.capacity());
        // block 0 shared, block 1 copied into block 2, which b may write
        assertArrayEquals(new int[] {0, 2}, ids(b));
        assertArrayEquals(Fixtures.copy(row(0, 5, 5, 1), 0, 4), readKey(b, 1, 0, 5), 1e-6f);
        float[] kv = new float[LAYOUT.kvDim()];
        assertThrows(IndexOutOfBoundsException.class, () -> b.write(0, 6, kv, 0, kv, 0));
        prefill(c, b, prompt);
        assertEquals(8, b.length());
        KvUsage u = c.usage();
        assertEquals(2 * F32_BLOCK_BYTES, u.usedBytes());
        assertEquals(F32_BLOCK_BYTES, u.cachedBytes()); // a's block 1 is still cached
        assertTrue(c.check().consistent());
        c.release(b);
        // b's copy has the hash a's block 1 published first: it is freed, not cached twice
        assertEquals(2 * F32_BLOCK_BYTES, c.usage().cachedBytes());
        assertTrue(c.check().consistent());
    }

    @Test
    void evictionTakesTheLeastRecentlyUsedBlockAndTheTailOfAChainFirst() {
        PagedKvCache c = cache(4);
        KvSequence a = c.open("a", range(0, 8), f32());
        prefill(c, a, range(0, 8));
        c.release(a); // LRU: 1, 0
        KvSequence b = c.open("b", range(100, 108), f32());
        prefill(c, b, range(100, 108));
        assertArrayEquals(new int[] {2, 3}, ids(b));
        c.release(b); // LRU: 1, 0, 3, 2
        assertEquals(4 * F32_BLOCK_BYTES, c.usage().cachedBytes());

        KvSequence d = c.open("d", range(200, 204), f32());
        prefill(c, d, range(200, 204));
        assertArrayEquals(new int[] {1}, ids(d)); // a's tail block was evicted and its id reused
        assertEquals(1, c.usage().evictions());

        KvSequence e = c.open("e", range(0, 8), f32()); // a's first block is still there
        assertEquals(4, e.cachedPrefixLength());
        assertArrayEquals(new int[] {0}, ids(e));
        assertTrue(c.check().consistent());
    }

    @Test
    void aPrefixHitRefreshesTheBlockInTheLruQueue() {
        PagedKvCache c = cache(3);
        KvSequence a = c.open("a", range(0, 4), f32());
        prefill(c, a, range(0, 4));
        c.release(a); // LRU: 0
        KvSequence b = c.open("b", range(50, 54), f32());
        prefill(c, b, range(50, 54));
        c.release(b); // LRU: 0, 1
        KvSequence hit = c.open("hit", range(0, 5), f32()); // uses block 0
        assertEquals(4, hit.cachedPrefixLength());
        c.release(hit); // LRU: 1, 0
        KvSequence d = c.open("d", range(90, 98), f32());
        prefill(c, d, range(90, 98)); // needs 2 blocks: 1 never used, 1 by evicting b's (0 was refreshed)
        assertArrayEquals(new int[] {1, 2}, ids(d)); // b's block 1 evicted and its id reused first
        assertEquals(4, c.open("again", range(0, 5), f32()).cachedPrefixLength());
    }

    @Test
    void saltAndBlockTypeSeparatePrefixes() {
        PagedKvCache c = cache(16);
        int[] prompt = range(0, 9);
        KvSequence a = c.open("a", prompt, new KvSequenceOptions(KvDType.F32, true, false, 0, "tenant-1"));
        prefill(c, a, prompt);
        assertEquals(0, c.open("b", prompt, new KvSequenceOptions(KvDType.F32, true, false, 0, "tenant-2"))
                .cachedPrefixLength());
        assertEquals(0, c.open("c", prompt, f32()).cachedPrefixLength());
        assertEquals(0, c.open("d", prompt, new KvSequenceOptions(KvDType.F16, true, false, 0, "tenant-1"))
                .cachedPrefixLength());
        assertEquals(8, c.open("e", prompt, new KvSequenceOptions(KvDType.F32, true, false, 0, "tenant-1"))
                .cachedPrefixLength());
        assertEquals(0, c.open("f", prompt, new KvSequenceOptions(KvDType.F32, false, false, 0, "tenant-1"))
                .cachedPrefixLength());
    }

    @Test
    void anotherModelVersionNeverSeesTheBlocks() {
        try (PagedKvCacheManager m = new PagedKvCacheManager(Fixtures.settings(16 * F32_BLOCK_BYTES))) {
            PagedKvCache v1 = (PagedKvCache) m.create(Fixtures.spec("v1"));
            int[] prompt = range(0, 9);
            prefill(v1, v1.open("a", prompt, f32()), prompt);
            assertEquals(8, v1.open("a2", prompt, f32()).cachedPrefixLength());
            PagedKvCache v2 = (PagedKvCache) m.create(Fixtures.spec("v2"));
            assertEquals(0, v2.open("b", prompt, f32()).cachedPrefixLength());
            assertEquals(2, m.caches().size());
            // the hash chain itself differs by version, so even one pool could not mix them
            assertFalse(BlockHashes.root("v1", KvDType.F32, "").equals(BlockHashes.root("v2", KvDType.F32, "")));
        }
    }

    @Test
    void maxBytesLimitsWhatOneSequenceMayHold() {
        PagedKvCache c = cache(8);
        KvSequence a = c.open("a", new int[0], new KvSequenceOptions(KvDType.F32, true, false,
                2 * F32_BLOCK_BYTES, ""));
        assertFalse(c.allocate(a, 9));
        assertEquals(0, a.capacity());
        assertTrue(c.allocate(a, 8));
        assertFalse(c.allocate(a, 1));
    }

    @Test
    void dropInvalidatesEverySequenceAndEmptiesThePool() {
        PagedKvCache c = cache(4);
        KvSequence a = c.open("a", range(0, 6), f32());
        prefill(c, a, range(0, 6));
        KvSequence b = c.open("b", range(0, 6), f32());
        c.drop();
        for (KvSequence s : new KvSequence[] {a, b}) {
            assertFalse(s.valid());
            assertEquals("a".equals(s.id()) ? "a" : "b", s.id());
            assertThrows(KvSequenceInvalidException.class, s::length);
            assertThrows(KvSequenceInvalidException.class, () -> s.keyDots(0, 0, new float[4], 0, 0, 1, new float[1], 0));
            assertThrows(KvSequenceInvalidException.class, () -> s.valueSum(0, 0, new float[1], 0, 0, 1, new float[4], 0));
            assertThrows(KvSequenceInvalidException.class, () -> s.commit(new int[1], 0, 1));
            assertThrows(KvSequenceInvalidException.class, () -> c.allocate(s, 1));
            c.release(s);
        }
        KvUsage u = c.usage();
        assertEquals(0, u.usedBytes());
        assertEquals(0, u.cachedBytes());
        assertEquals(0, u.sequences());
        assertEquals(1, u.drops());
        KvSequence again = c.open("a", range(0, 6), f32());
        assertEquals(0, again.cachedPrefixLength());
        prefill(c, again, range(0, 6));
        assertArrayEquals(new int[] {0, 1}, ids(again));
        assertTrue(c.check().consistent());
    }

    @Test
    void checkFindsABrokenReferenceCountAndDrops() {
        PagedKvCache c = cache(4);
        KvSequence a = c.open("a", range(0, 6), f32());
        prefill(c, a, range(0, 6));
        assertTrue(c.check().consistent());
        c.poolForTest().corruptForTest(c.poolForTest().get(1), 1);
        KvCheck r = c.check();
        assertFalse(r.consistent());
        assertTrue(r.dropped());
        assertTrue(r.problems().stream().anyMatch(p -> p.contains("block 1") && p.contains("references")),
                r.problems().toString());
        assertFalse(a.valid());
        assertEquals(1, c.usage().drops());
        assertTrue(c.check().consistent());
    }

    @Test
    void aClosedCacheRefusesNewSequences() {
        PagedKvCache c = cache(4);
        KvSequence a = c.open("a", range(0, 3), f32());
        c.close();
        assertFalse(a.valid());
        assertThrows(IllegalStateException.class, () -> c.open("b", range(0, 3), f32()));
        c.close();
    }
}
