package org.halyard.kvcache.api;

import java.util.Objects;

/**
 * How one sequence uses the cache.
 *
 * @param dtype the type of the blocks this sequence writes
 * @param usePrefixCache whether to reuse cached blocks of an identical prefix and publish this
 *     sequence's full blocks for others
 * @param offload whether cold blocks of this sequence may move to slower tiers (off-heap, disk)
 *     instead of being counted against the hot pool (ultra-long mode)
 * @param maxBytes the most memory this sequence may hold in all tiers together (sealed blocks, and
 *     blocks being written at their open size: INT8 blocks are staged as F32); 0 for no limit
 *     beyond the cache's capacity
 * @param salt extra key mixed into this sequence's prefix hashes (a tenant or adapter), so only
 *     sequences with the same salt share blocks; empty for none
 */
public record KvSequenceOptions(KvDType dtype, boolean usePrefixCache, boolean offload,
        long maxBytes, String salt) {

    public KvSequenceOptions {
        Objects.requireNonNull(dtype, "dtype");
        salt = salt == null ? "" : salt;
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must not be negative: " + maxBytes);
        }
    }

    /** Prefix caching on, no offload, no per-sequence limit. */
    public static KvSequenceOptions of(KvDType dtype) {
        return new KvSequenceOptions(dtype, true, false, 0, "");
    }
}
