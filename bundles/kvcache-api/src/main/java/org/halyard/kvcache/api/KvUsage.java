package org.halyard.kvcache.api;

/**
 * Memory and cache counters of one cache at one moment. Bytes count keys, values and scales.
 *
 * @param blockSizeTokens tokens per block
 * @param capacityBytes the hot tier's capacity
 * @param usedBytes hot-tier bytes in blocks referenced by at least one sequence
 * @param cachedBytes hot-tier bytes in unreferenced blocks kept for prefix reuse (evictable)
 * @param freeBytes hot-tier bytes neither used nor cached
 * @param sharedBytes hot-tier bytes in blocks referenced by more than one sequence
 * @param offHeapBytes bytes of blocks offloaded to off-heap memory
 * @param diskBytes bytes of blocks offloaded to disk
 * @param blocksUsed blocks referenced by sequences
 * @param blocksCached unreferenced blocks kept for reuse
 * @param sequences open sequences
 * @param prefixHitTokens prompt tokens served from the prefix cache since creation
 * @param prefixMissTokens prompt tokens that had to be computed since creation
 * @param evictions cached blocks evicted since creation
 * @param drops times the cache was dropped since creation
 */
public record KvUsage(int blockSizeTokens, long capacityBytes, long usedBytes, long cachedBytes,
        long freeBytes, long sharedBytes, long offHeapBytes, long diskBytes, long blocksUsed,
        long blocksCached, int sequences, long prefixHitTokens, long prefixMissTokens,
        long evictions, long drops) {

    /** Share of prompt tokens served from the prefix cache, 0 when none were seen. */
    public double prefixHitRate() {
        long all = prefixHitTokens + prefixMissTokens;
        return all == 0 ? 0 : (double) prefixHitTokens / all;
    }
}
