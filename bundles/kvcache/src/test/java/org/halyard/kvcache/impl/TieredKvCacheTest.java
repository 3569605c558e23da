package org.halyard.kvcache.impl;

import static org.halyard.kvcache.impl.Fixtures.F32_BLOCK_BYTES;
import static org.halyard.kvcache.impl.Fixtures.LAYOUT;
import static org.halyard.kvcache.impl.Fixtures.f32;
import static org.halyard.kvcache.impl.Fixtures.prefill;
import static org.halyard.kvcache.impl.Fixtures.range;
import static org.halyard.kvcache.impl.Fixtures.readKey;
import static org.halyard.kvcache.impl.Fixtures.readValue;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.kvcache.impl.tier.DataDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Off-heap and disk tiers: what moves down, what comes back, what is read in place, what is deleted. */
class TieredKvCacheTest {

    @TempDir
    Path dir;

    private PagedKvCache cache(long hotBlocks, long offHeapBlocks, long diskBlocks) {
        return new PagedKvCache(Fixtures.spec("v1"), Fixtures.settings(hotBlocks * F32_BLOCK_BYTES)
                .withOffHeapCapacityBytes(offHeapBlocks * F32_BLOCK_BYTES)
                .withDiskCapacityBytes(diskBlocks * F32_BLOCK_BYTES).withDataDirectory(dir));
    }

    private static KvSequenceOptions offload(KvDType d) {
        return new KvSequenceOptions(d, true, true, 0, "");
    }

    private long segmentFiles() throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(p -> p.getFileName().toString().endsWith(".kv")).count();
        }
    }

    private static Tier tier(KvSequence s, int block) {
        return ((PagedKvSequence) s).table[block].tier;
    }

    @Test
    void evictedCachedBlocksMoveOffHeapAndComeBackOnReuse() {
        PagedKvCache c = cache(2, 2, 0);
        KvSequence a = c.open("a", range(0, 8), f32());
        prefill(c, a, range(0, 8));
        float[] key5 = readKey(a, 1, 1, 5);
        float[] value2 = readValue(a, 0, 1, 2);
        c.release(a);
        KvSequence b = c.open("b", range(100, 108), f32());
        prefill(c, b, range(100, 108));
        KvUsage u = c.usage();
        assertEquals(2 * F32_BLOCK_BYTES, u.usedBytes());
        assertEquals(0, u.cachedBytes());
        assertEquals(2 * F32_BLOCK_BYTES, u.offHeapBytes());
        assertEquals(0, u.evictions());

        // no room in the hot tier while b holds it: the hit is read where it is
        KvSequence hit = c.open("hit", range(0, 9), f32());
        assertEquals(8, hit.cachedPrefixLength());
        assertEquals(Tier.OFF_HEAP, tier(hit, 0));
        assertArrayEquals(key5, readKey(hit, 1, 1, 5), 0f);
        assertArrayEquals(value2, readValue(hit, 0, 1, 2), 0f);
        c.release(hit);

        c.release(b); // b's blocks are cached now; a reuse of a's prefix promotes it
        KvSequence again = c.open("again", range(0, 9), f32());
        assertEquals(8, again.cachedPrefixLength());
        assertEquals(Tier.HOT, tier(again, 0));
        assertEquals(Tier.HOT, tier(again, 1));
        assertArrayEquals(key5, readKey(again, 1, 1, 5), 0f);
        assertEquals(2, c.tierStats().promotions());
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
    }

    @Test
    void aFullOffHeapTierPassesItsOldestBlocksToDiskAndDiskFilesGoWithTheBlocks() throws IOException {
        PagedKvCache c = cache(1, 1, 4);
        for (int i = 0; i < 4; i++) {
            KvSequence s = c.open("s" + i, range(100 * i, 100 * i + 4), f32());
            prefill(c, s, range(100 * i, 100 * i + 4));
            c.release(s);
        }
        // hot: the newest; off-heap: the one before; disk: the two oldest
        KvUsage u = c.usage();
        assertEquals(F32_BLOCK_BYTES, u.cachedBytes());
        assertEquals(F32_BLOCK_BYTES, u.offHeapBytes());
        assertEquals(2 * F32_BLOCK_BYTES, u.diskBytes());
        assertEquals(4, u.blocksCached());
        assertEquals(1, segmentFiles());

        KvSequence oldest = c.open("again", range(0, 5), f32());
        assertEquals(4, oldest.cachedPrefixLength()); // promoted from disk, reading the same values
        assertEquals(Tier.HOT, tier(oldest, 0));
        assertArrayEquals(Fixtures.copy(Fixtures.row(0, 3, 3, 1), 4, 4), readKey(oldest, 1, 1, 3), 0f);
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
        c.drop();
        assertEquals(0, segmentFiles());
        assertEquals(0, c.usage().diskBytes());
        c.close();
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(0, left.count(), "a stand-alone cache deletes its folder when closed");
        }
    }

    @Test
    void anOffloadingSequenceHoldsMoreThanTheHotTier() throws IOException {
        PagedKvCache c = cache(2, 2, 8);
        int[] tokens = range(0, 40); // 10 blocks
        KvSequence plain = c.open("plain", tokens, new KvSequenceOptions(KvDType.F32, false, false, 0, ""));
        assertTrue(c.allocate(plain, 8));
        assertFalse(c.allocate(plain, 1), "without offload a sequence gets the hot tier only");
        c.release(plain);

        KvSequence s = c.open("long", tokens, new KvSequenceOptions(KvDType.F32, false, true, 0, ""));
        for (int from = 0; from < tokens.length; from += 4) {
            prefill(c, s, java.util.Arrays.copyOf(tokens, from + 4)); // one block at a time, as chunked prefill
        }
        assertEquals(40, s.length());
        KvUsage u = c.usage();
        assertTrue(u.usedBytes() <= 2 * F32_BLOCK_BYTES, "hot " + u.usedBytes());
        assertEquals(2 * F32_BLOCK_BYTES, u.offHeapBytes());
        assertEquals(10 * F32_BLOCK_BYTES, u.usedBytes() + u.offHeapBytes() + u.diskBytes());
        assertEquals(Tier.OFF_HEAP, tier(s, 0));
        assertEquals(Tier.DISK, tier(s, 2));
        for (int pos = 0; pos < 40; pos += 3) {
            assertArrayEquals(Fixtures.copy(Fixtures.row(1, pos, pos, 0), 4, 4), readValue(s, 0, 1, pos), 0f);
        }
        // attention over the whole sequence reads every tier in one call
        float[] q = {1, 0, 0, 0};
        float[] dots = new float[40];
        s.keyDots(1, 0, q, 0, 0, 40, dots, 0);
        for (int pos = 0; pos < 40; pos++) {
            assertEquals(Fixtures.value(0, pos, pos, 1, 0), dots[pos], 0f);
        }
        assertTrue(segmentFiles() > 0);
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
        c.release(s);
        assertEquals(0, segmentFiles(), "released blocks take their files with them");
        assertEquals(0, c.usage().offHeapBytes());
        assertEquals(0, c.usage().diskBytes());
    }

    @ParameterizedTest
    @EnumSource(KvDType.class)
    void offloadRoundTripIsExactAndInt8StaysWithinItsTolerance(KvDType d) {
        PagedKvCache c = new PagedKvCache(Fixtures.spec("v1"), Fixtures.settings(64 * F32_BLOCK_BYTES)
                .withOffHeapCapacityBytes(1 << 20).withDiskCapacityBytes(1 << 20).withDataDirectory(dir));
        int[] tokens = range(7, 31);
        KvSequence hot = c.open("hot", tokens, new KvSequenceOptions(d, false, false, 0, ""));
        prefill(c, hot, tokens);
        KvSequence cold = c.open("cold", tokens, new KvSequenceOptions(d, false, false, 0, ""));
        prefill(c, cold, tokens);
        // move every block of "cold" through off-heap to disk and read it there, then bring it back
        PagedKvSequence ps = (PagedKvSequence) cold;
        for (Tier t : new Tier[] {Tier.OFF_HEAP, Tier.DISK, Tier.HOT}) {
            for (Block b : ps.table) {
                assertTrue(c.moveForTest(b, t));
            }
            float maxError = 0;
            for (int pos = 0; pos < tokens.length; pos++) {
                for (int l = 0; l < LAYOUT.layers(); l++) {
                    for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                        assertArrayEquals(readKey(hot, l, h, pos), readKey(cold, l, h, pos), 0f);
                        assertArrayEquals(readValue(hot, l, h, pos), readValue(cold, l, h, pos), 0f);
                        float[] k = readKey(cold, l, h, pos);
                        for (int i = 0; i < 4; i++) {
                            maxError = Math.max(maxError, Math.abs(k[i] - Fixtures.value(0, tokens[pos], pos, l, h * 4 + i)));
                        }
                    }
                }
            }
            // values lie in [-1, 1]: INT8 rounds to half a step of 1/127, F16 to 2^-11 relative
            float tolerance = d == KvDType.F32 ? 0f : d == KvDType.F16 ? 1f / 2048 : 0.5f / 127 + 1e-6f;
            assertTrue(maxError <= tolerance, d + " in " + t + ": error " + maxError);
        }
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
        c.close();
    }

    @Test
    void int8BlocksTakeAQuarterOfTheMemoryOnceSealed() {
        PagedKvCache c = cache(16, 0, 0);
        KvSequence s = c.open("s", range(0, 9), new KvSequenceOptions(KvDType.INT8, true, false, 0, ""));
        assertTrue(c.allocate(s, 9));
        assertEquals(3 * F32_BLOCK_BYTES, c.usage().usedBytes(), "blocks are staged as F32 while written");
        prefill(c, s, range(0, 9));
        long int8Block = 2 * 64 + 2 * 4 * 4; // 64 values a side, a scale per (layer, head) a side
        assertEquals(2 * int8Block + F32_BLOCK_BYTES, c.usage().usedBytes());
        KvSequence f16 = c.open("h", range(0, 8), new KvSequenceOptions(KvDType.F16, true, false, 0, ""));
        prefill(c, f16, range(0, 8));
        assertEquals(2 * int8Block + F32_BLOCK_BYTES + 2 * F32_BLOCK_BYTES / 2, c.usage().usedBytes());
        assertTrue(c.check().consistent(), () -> c.check().problems().toString());
    }

    @Test
    void aDiskThatFailsCostsCachedBlocksNotRequestsAndShowsInHealth() throws IOException {
        Path notADirectory = dir.resolve("file");
        Files.writeString(notADirectory, "in the way");
        try (PagedKvCacheManager m = new PagedKvCacheManager(Fixtures.settings(F32_BLOCK_BYTES)
                .withOffHeapCapacityBytes(0).withDiskCapacityBytes(1 << 20).withDataDirectory(notADirectory))) {
            PagedKvCache c = (PagedKvCache) m.create(Fixtures.spec("v1"));
            KvSequence a = c.open("a", range(0, 4), f32());
            prefill(c, a, range(0, 4));
            c.release(a);
            KvSequence b = c.open("b", range(50, 54), f32()); // a's block cannot go to disk: forgotten
            prefill(c, b, range(50, 54));
            assertEquals(1, c.usage().evictions());
            assertEquals(1, c.tierStats().failures());
            var h = m.health().stream().filter(x -> x.component().equals("kvcache/test")).findFirst().orElseThrow();
            assertEquals(org.halyard.core.api.Health.Status.DEGRADED, h.status());
            assertTrue(h.detail().contains("could not move"), h.detail());
            assertEquals("1", h.attributes().get("tierFailures"));
            assertTrue(c.check().consistent(), () -> c.check().problems().toString());
        }
    }

    @Test
    void aNewManagerRemovesWhatEarlierRunsLeftButNotWhatALiveOneHolds() throws IOException {
        Path stale = dir.resolve("kv-stale");
        Files.createDirectories(stale.resolve("demo-0"));
        Files.writeString(stale.resolve("lock"), "");
        Files.write(stale.resolve("demo-0/seg-0000-512.kv"), new byte[512]);
        Path unrelated = dir.resolve("keep-me.txt");
        Files.writeString(unrelated, "not ours");
        try (PagedKvCacheManager live = new PagedKvCacheManager(Fixtures.settings(F32_BLOCK_BYTES)
                .withDiskCapacityBytes(1 << 20).withOffHeapCapacityBytes(0).withDataDirectory(dir))) {
            assertFalse(Files.exists(stale));
            assertTrue(Files.exists(unrelated));
            PagedKvCache c = (PagedKvCache) live.create(Fixtures.spec("v1"));
            KvSequence a = c.open("a", range(0, 4), f32());
            prefill(c, a, range(0, 4));
            c.release(a);
            KvSequence b = c.open("b", range(50, 54), f32()); // pushes a's block to disk
            prefill(c, b, range(50, 54));
            assertEquals(1, segmentFiles());
            // a second manager on the same folder (another node, a restart racing a stop) keeps it
            assertEquals(0, DataDirectory.removeStale(dir));
            assertEquals(1, segmentFiles());
            try (FileChannel ch = FileChannel.open(Files.list(dir).filter(p -> p.getFileName().toString()
                    .startsWith("kv-")).findFirst().orElseThrow().resolve("lock"), StandardOpenOption.WRITE)) {
                assertTrue(ch.isOpen());
            }
        }
        assertEquals(0, segmentFiles(), "a closed manager deletes its files");
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(1, left.count());
        }
    }
}
