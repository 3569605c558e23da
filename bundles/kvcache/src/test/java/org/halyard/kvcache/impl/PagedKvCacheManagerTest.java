package org.halyard.kvcache.impl;

import static org.halyard.kvcache.impl.Fixtures.F32_BLOCK_BYTES;
import static org.halyard.kvcache.impl.Fixtures.f32;
import static org.halyard.kvcache.impl.Fixtures.prefill;
import static org.halyard.kvcache.impl.Fixtures.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.halyard.core.api.Health;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PagedKvCacheManagerTest {

    @TempDir
    Path dir;

    private KvCacheSettings settings() {
        return Fixtures.settings(8 * F32_BLOCK_BYTES).withDataDirectory(dir);
    }

    private static Health health(PagedKvCacheManager m, String component) {
        return m.health().stream().filter(h -> h.component().equals(component)).findFirst().orElseThrow();
    }

    @Test
    void createsListsAndForgetsCachesAndClosesThemWhenItCloses() {
        PagedKvCacheManager m = new PagedKvCacheManager(settings());
        KvCache a = m.create(Fixtures.spec("v1"));
        KvCache b = m.create(new KvCacheSpec("other", "v9", Fixtures.LAYOUT, KvDType.F16, 3 * F32_BLOCK_BYTES));
        assertEquals(List.of(a, b), m.caches());
        assertEquals(8 * F32_BLOCK_BYTES, a.usage().capacityBytes());
        assertEquals(3 * F32_BLOCK_BYTES, b.usage().capacityBytes());
        assertEquals(Fixtures.BLOCK, a.blockSizeTokens());
        b.close();
        assertEquals(List.of(a), m.caches());
        KvSequence s = a.open("s", range(0, 3), f32());
        m.close();
        assertFalse(s.valid(), "the bundle going away invalidates every sequence");
        assertTrue(m.caches().isEmpty());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> m.create(Fixtures.spec("v2")));
    }

    @Test
    void reportsEachCachesHealthAndADroppingCheckUntilOnePasses() {
        try (PagedKvCacheManager m = new PagedKvCacheManager(settings())) {
            PagedKvCache c = (PagedKvCache) m.create(Fixtures.spec("v1"));
            KvSequence s = c.open("s", range(0, 6), f32());
            prefill(c, s, range(0, 6));
            Health h = health(m, "kvcache/test");
            assertEquals(Health.Status.UP, h.status());
            assertEquals(Long.toString(2 * F32_BLOCK_BYTES), h.attributes().get("usedBytes"));
            assertEquals("v1", h.attributes().get("modelVersion"));
            assertEquals("1 caches", health(m, "kvcache").detail());

            c.poolForTest().corruptForTest(c.poolForTest().get(0), 2);
            assertFalse(m.checkAll().get(0).consistent());
            h = health(m, "kvcache/test");
            assertEquals(Health.Status.DEGRADED, h.status());
            assertTrue(h.detail().contains("dropped after a failed consistency check"), h.detail());
            assertEquals("1", h.attributes().get("drops"));
            assertFalse(s.valid());

            assertTrue(m.checkAll().get(0).consistent());
            assertEquals(Health.Status.UP, health(m, "kvcache/test").status());
        }
    }

    @Test
    void newSettingsApplyLiveWhereSafeAndToNewCachesOtherwise() {
        try (PagedKvCacheManager m = new PagedKvCacheManager(settings())) {
            PagedKvCache followsConfig = (PagedKvCache) m.create(Fixtures.spec("v1"));
            PagedKvCache ownCapacity = (PagedKvCache) m.create(new KvCacheSpec("own", "v1", Fixtures.LAYOUT,
                    KvDType.F32, 2 * F32_BLOCK_BYTES));
            KvSequence s = followsConfig.open("s", range(0, 16), f32());
            prefill(followsConfig, s, range(0, 16));
            followsConfig.release(s); // 4 cached blocks

            m.configure(settings().withCapacityBytes(2 * F32_BLOCK_BYTES).withBlockSizeTokens(8)
                    .withDefaultDType(KvDType.INT8));
            assertEquals(2 * F32_BLOCK_BYTES, followsConfig.usage().capacityBytes());
            assertEquals(2 * F32_BLOCK_BYTES, followsConfig.usage().cachedBytes(), "shrinking evicted cached blocks");
            assertEquals(2, followsConfig.usage().evictions());
            assertEquals(2 * F32_BLOCK_BYTES, ownCapacity.usage().capacityBytes());
            assertEquals(4, followsConfig.blockSizeTokens(), "an open cache keeps its block size");
            assertEquals(KvDType.F32, followsConfig.spec().defaultDType());

            KvCache fresh = m.create(Fixtures.spec("v2"));
            assertEquals(8, fresh.blockSizeTokens());
            assertEquals(KvDType.INT8, fresh.spec().defaultDType(), "the operator's default type overrides the spec's");
            assertTrue(followsConfig.check().consistent());
        }
    }
}
