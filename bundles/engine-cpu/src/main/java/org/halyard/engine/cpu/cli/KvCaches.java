package org.halyard.engine.cpu.cli;

import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;

/**
 * KV Cache++ for the command line: the {@code kvcache} bundle used as a plain library, hot tier
 * only (no off-heap or disk tier, no background checks). The engine bundle does not import this
 * package (bnd.bnd): inside Karaf the engine sees only the {@code KvSequence}s a scheduler hands
 * it.
 */
final class KvCaches {

    private KvCaches() {
    }

    /** A manager whose caches hold up to {@code capacityBytes} of F32 keys and values each. */
    static PagedKvCacheManager manager(long capacityBytes) {
        KvCacheSettings s = KvCacheSettings.defaults().withCapacityBytes(capacityBytes).withOffHeapCapacityBytes(0)
                .withDiskCapacityBytes(0).withCheckIntervalSeconds(0);
        return new PagedKvCacheManager(s);
    }

    /** Bytes of F32 keys and values for {@code tokens} tokens of a model, with a block of slack. */
    static long bytesFor(org.halyard.kvcache.api.KvLayout layout, int tokens) {
        return (tokens + 64L) * layout.valuesPerToken() * 4;
    }

}
