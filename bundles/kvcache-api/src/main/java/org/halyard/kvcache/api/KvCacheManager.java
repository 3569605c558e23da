package org.halyard.kvcache.api;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Creates and tracks the caches of a node: one per served model version.
 *
 * <p>Registered as an OSGi service by the KV Cache++ bundle. When that bundle is replaced, every
 * cache it created is dropped; schedulers notice through {@link KvSequence#valid()} and rebuild
 * their sequences by re-prefill.
 */
@ProviderType
public interface KvCacheManager {

    /** Creates a cache for one model version. */
    KvCache create(KvCacheSpec spec);

    /** The caches open now. */
    List<KvCache> caches();
}
