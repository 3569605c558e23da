package org.halyard.kvcache.impl;

import static org.halyard.kvcache.impl.Fixtures.F32_BLOCK_BYTES;
import static org.halyard.kvcache.impl.Fixtures.LAYOUT;
import static org.halyard.kvcache.impl.Fixtures.cache;
import static org.halyard.kvcache.impl.Fixtures.f32;
import static org.halyard.kvcache.impl.Fixtures.prefill;
import static org.halyard.kvcache.impl.Fixtures.range;
import static org.halyard.kvcache.impl.Fixtures.readKey;
import static org.halyard.kvcache.impl.Fixtures.readValue;
import static org.halyard.kvcache.impl.Fixtures.row;
import static org.halyard.kvcache.impl.Fixtures.value;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import org.halyard.kvcache.api.KeyRewriter;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a sliding window needs from KV Cache++: {@code discard} (whole blocks leave the table, later
 * slots move down) and {@code rewriteKeys} (keys re-encoded in place, shared blocks copied first,
 * cold blocks kept cold). 4-token blocks with exact ids, as in {@link PagedKvCacheTest}.
 */
class SlidingWindowKvCacheTest {

    @TempDir
    Path dir;

    private static int[] ids(KvSequence s) {
        return ((PagedKvSequence) s).blockIds();
    }

    private static KvSequenceOptions noPrefix(KvDType d) {
        return new KvSequenceOptions(d, false, false, 0, "");
    }

    /** Adds 10 to the first value of every key: easy to recognise, and exact in every type. */
    private static final KeyRewriter PLUS_TEN = (layer, head, slot, key, off) -> key[off] += 10f;

    @Test
    void discardRemovesWholeBlocksAndLaterSlotsMoveDown() {
        PagedKvCache c = cache(8);
        int[] tokens = range(100, 118); // 4 full blocks and 2 tokens of a fifth
        KvSequence s = c.open("s", tokens, noPrefix(KvDType.F32));
        prefill(c, s, tokens);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, ids(s));

        c.discard(s, 4, 12);

        assertArrayEquals(new int[] {0, 3, 4}, ids(s));
        assertEquals(10, s.length());
        assertEquals(10, s.capacity());
        // slot 4 now holds what was written at slot 12, slot 9 what was at 17
        for (int[] moved : new int[][] {{4, 12}, {9, 17}, {0, 0}}) {
            int slot = moved[0];
            int was = moved[1];
            assertArrayEquals(Fixtures.copy(row(0, tokens[was], was, 1), 4, 4), readKey(s, 1, 1, slot), 0f);
            assertArrayEquals(Fixtures.copy(row(1, tokens[was], was, 0), 0, 4), readValue(s, 0, 0, slot), 0f);
        }
        assertEquals(3 * F32_BLOCK_BYTES, c.usage().usedBytes());
        assertEquals(0, c.usage().cachedBytes(), "unpublished blocks are freed");
        assertEquals(8, c.slideCounters()[0]);
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());

        // the sequence goes on growing from its new length, into a freed id
        assertTrue(c.allocate(s, 4));
        assertArrayEquals(new int[] {0, 3, 4, 2}, ids(s));
    }

    @Test
    void discardRefusesPartialBlocksAndSlotsNotYetSealed() {
        PagedKvCache c = cache(8);
        int[] tokens = range(0, 14);
        KvSequence s = c.open("s", tokens, noPrefix(KvDType.F32));
        prefill(c, s, tokens);
        assertThrows(IllegalArgumentException.class, () -> c.discard(s, 2, 8), "not a block boundary");
        assertThrows(IllegalArgumentException.class, () -> c.discard(s, 4, 16), "the open block");
        assertThrows(IllegalArgumentException.class, () -> c.discard(s, 8, 8), "an empty range");
        assertThrows(IllegalArgumentException.class, () -> c.discard(s, -4, 4));
        assertEquals(14, s.length());
        assertArrayEquals(new int[] {0, 1, 2, 3}, ids(s));
    }

    @Test
    void discardedPublishedBlocksStayCachedButTheSequencePublishesNothingMore() {
        PagedKvCache c = cache(16);
        int[] tokens = range(0, 12);
        KvSequence a = c.open("a", tokens, f32());
        prefill(c, a, tokens);
        c.discard(a, 4, 8);
        assertArrayEquals(new int[] {0, 2}, ids(a));
        assertEquals(F32_BLOCK_BYTES, c.usage().cachedBytes(), "block 1 stays in the prefix cache");

        // another request with the same prompt still gets all three blocks
        KvSequence b = c.open("b", Arrays.copyOf(tokens, 13), f32());
        assertEquals(12, b.length());
        assertArrayEquals(new int[] {0, 1, 2}, Arrays.copyOf(ids(b), 3));

        // a's next full block was computed over a window: it must not be found by prefix
        int[] more = range(0, 20);
        int[] seen = new int[12];
        System.arraycopy(more, 0, seen, 0, 4);
        System.arraycopy(more, 8, seen, 4, 8); // what a's slots hold now: tokens 0-3 and 8-15
        int missing = 12 - a.capacity();
        assertTrue(c.allocate(a, missing));
        for (int slot = 8; slot < 12; slot++) {
            for (int l = 0; l < LAYOUT.layers(); l++) {
                a.write(l, slot, row(0, seen[slot], slot, l), 0, row(1, seen[slot], slot, l), 0);
            }
        }
        a.commit(more, 12, 4);
        Block sealed = ((PagedKvSequence) a).table[2];
        assertTrue(sealed.sealed);
        assertFalse(sealed.published);
        KvSequence d = c.open("d", Arrays.copyOf(more, 17), f32());
        assertEquals(12, d.length(), "the prefix cache holds tokens 0-11, nothing of a's window");
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
    }

    @ParameterizedTest
    @EnumSource(KvDType.class)
    void rewriteKeysChangesKeysInRangeOnlyAndLeavesValues(KvDType d) {
        PagedKvCache c = cache(16);
        int[] tokens = range(40, 50); // 2 sealed blocks and an open one
        KvSequence s = c.open("s", tokens, noPrefix(d));
        prefill(c, s, tokens);
        KvSequence ref = c.open("ref", tokens, noPrefix(d));
        prefill(c, ref, tokens);

        s.rewriteKeys(2, 10, PLUS_TEN);

        for (int slot = 0; slot < 10; slot++) {
            for (int l = 0; l < LAYOUT.layers(); l++) {
                for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                    float[] before = readKey(ref, l, h, slot);
                    float[] after = readKey(s, l, h, slot);
                    if (slot >= 2) {
                        before[0] += 10f;
                    }
                    // INT8 blocks are quantised again with the new keys' larger scale (11/127 a step);
                    // the open block (slots 8, 9) is F32 staging; F16 rounds keys near 11 to 2^-8
                    float tolerance = d == KvDType.F32 ? 1e-6f : d == KvDType.F16 ? 0.01f
                            : slot >= 8 ? 1e-6f : 0.5f * 12 / 127;
                    assertArrayEquals(before, after, tolerance, d + " slot " + slot);
                    assertArrayEquals(readValue(ref, l, h, slot), readValue(s, l, h, slot), 1e-6f);
                }
            }
        }
        assertEquals(32L, c.slideCounters()[1], "8 slots x 2 layers x 2 heads");
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
    }

    @Test
    void rewriteKeysCopiesBlocksItSharesSoOthersSeeNoChange() {
        PagedKvCache c = cache(16);
        int[] tokens = range(0, 9);
        KvSequence a = c.open("a", tokens, f32());
        prefill(c, a, tokens);
        KvSequence b = c.open("b", tokens, f32()); // shares blocks 0 and 1
        assertEquals(8, b.length());
        float[] bKeyBefore = readKey(b, 0, 0, 5);

        a.rewriteKeys(4, 9, PLUS_TEN);

        assertArrayEquals(bKeyBefore, readKey(b, 0, 0, 5), 0f, "b's shared block is untouched");
        assertEquals(bKeyBefore[0] + 10f, readKey(a, 0, 0, 5)[0], 1e-6f);
        assertEquals(0, ids(a)[0], "blocks outside the range stay shared");
        assertNotEquals(1, ids(a)[1], "a got its own copy of block 1");
        assertEquals(1, ids(b)[1]);
        // the prefix cache still finds the original keys
        KvSequence d = c.open("d", range(0, 9), f32());
        assertEquals(8, d.length());
        assertArrayEquals(bKeyBefore, readKey(d, 0, 0, 5), 0f);
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
    }

    @Test
    void rewriteKeysKeepsOffloadedBlocksInTheirTier() {
        long int8Block = 160; // 2 sides x 64 bytes + 2 x 4 scales of 4 bytes
        // hot: one open (F32-staged) block and one sealed; off-heap: two sealed; the rest on disk
        PagedKvCache c = new PagedKvCache(Fixtures.spec("v1"), Fixtures.settings(F32_BLOCK_BYTES + int8Block)
                .withOffHeapCapacityBytes(2 * int8Block).withDiskCapacityBytes(8 * F32_BLOCK_BYTES)
                .withDataDirectory(dir));
        int[] tokens = range(0, 24);
        KvSequence s = c.open("long", tokens, new KvSequenceOptions(KvDType.INT8, false, true, 0, ""));
        for (int from = 0; from < tokens.length; from += 4) {
            prefill(c, s, Arrays.copyOf(tokens, from + 4));
        }
        PagedKvSequence ps = (PagedKvSequence) s;
        Tier[] before = new Tier[ps.table.length];
        for (int i = 0; i < before.length; i++) {
            before[i] = ps.table[i].tier;
        }
        assertTrue(Arrays.asList(before).contains(Tier.OFF_HEAP) && Arrays.asList(before).contains(Tier.DISK),
                Arrays.toString(before));

        c.discard(s, 4, 8);
        s.rewriteKeys(4, 20, PLUS_TEN);

        assertEquals(before[0], ps.table[0].tier);
        for (int i = 1; i < ps.table.length; i++) {
            assertEquals(before[i + 1], ps.table[i].tier, "block " + i);
        }
        for (int slot = 4; slot < 20; slot++) {
            int was = slot + 4;
            assertEquals(value(0, tokens[was], was, 1, 0) + 10f, readKey(s, 1, 0, slot)[0], 0.5f * 12 / 127);
            assertEquals(value(1, tokens[was], was, 1, 1), readValue(s, 1, 0, slot)[1], 0.5f / 127 + 1e-6f);
        }
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
        c.close();
    }

    @Test
    void rewriteKeysRefusesSlotsNotCommitted() {
        PagedKvCache c = cache(4);
        int[] tokens = range(0, 6);
        KvSequence s = c.open("s", tokens, noPrefix(KvDType.F32));
        prefill(c, s, tokens);
        assertThrows(IndexOutOfBoundsException.class, () -> s.rewriteKeys(4, 7, PLUS_TEN));
        assertThrows(IndexOutOfBoundsException.class, () -> s.rewriteKeys(3, 2, PLUS_TEN));
        s.rewriteKeys(3, 3, PLUS_TEN); // nothing to do
        assertEquals(0, c.slideCounters()[1]);
    }

    @Test
    void anInt8BudgetCountsBlocksBeingWrittenAtTheirF32Size() {
        long sealed = 160; // one INT8 block of the fixture layout
        PagedKvCache c = cache(16);
        // two sealed blocks and one being written: 2 x 160 + 512
        KvSequence s = c.open("s", new int[0], new KvSequenceOptions(KvDType.INT8, false, false,
                2 * sealed + F32_BLOCK_BYTES, ""));
        assertFalse(c.allocate(s, 12), "three blocks being written at once are 3 x 512");
        assertTrue(c.allocate(s, 4));
        prefill(c, s, range(0, 4));
        assertTrue(c.allocate(s, 4));
        prefill(c, s, range(0, 8));
        assertTrue(c.allocate(s, 4), "two sealed, one open: 832 bytes");
        assertFalse(c.allocate(s, 1), "a fourth block would pass the budget");
        prefill(c, s, range(0, 12));
        assertEquals(3 * sealed, c.usage().usedBytes());
    }
}
