package org.halyard.scheduler.impl;

import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;

/**
 * A loop's hold on the KV cache of its model version: which manager created it, so that a loop
 * notices when KV Cache++ was replaced and moves its sequences to a cache of the new manager.
 */
final class CacheLease {

    final String version;
    final KvCache cache;
    final KvCacheManager manager;
    int holders;

    CacheLease(String version, KvCache cache, KvCacheManager manager) {
        this.version = version;
        this.cache = cache;
        this.manager = manager;
    }
}
