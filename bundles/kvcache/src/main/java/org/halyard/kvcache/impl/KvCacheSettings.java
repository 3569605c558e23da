package org.halyard.kvcache.impl;

import java.nio.file.Path;
import java.util.Objects;
import org.halyard.kvcache.api.KvDType;

/**
 * How a {@link PagedKvCacheManager} and its caches are set up: the component's configuration as a
 * plain record, so the cache works as a library without OSGi.
 *
 * <pre>
 *   var manager = new PagedKvCacheManager(KvCacheSettings.defaults().withCapacityBytes(64 &lt;&lt; 20));
 *   KvCache cache = manager.create(new KvCacheSpec("demo", version, layout, KvDType.F32, 0));
 * </pre>
 *
 * @param blockSizeTokens tokens per block (16 by default)
 * @param capacityBytes hot-tier capacity of a cache whose spec asks for 0
 * @param defaultDType when set, the default block type of every cache created (overriding the
 *     spec's), so an operator can move all serving to F16 or INT8; null keeps each spec's
 * @param offHeapCapacityBytes off-heap tier capacity per cache; 0 disables the tier
 * @param diskCapacityBytes disk tier capacity per cache; 0 disables the tier
 * @param dataDirectory where the disk tier keeps its files (one folder per manager instance)
 * @param offloadCachedBlocks whether prefix-cache blocks evicted from the hot tier move down a tier
 *     (and come back on reuse) instead of being forgotten
 * @param checkIntervalSeconds how often each cache checks its invariants; 0 never
 */
public record KvCacheSettings(int blockSizeTokens, long capacityBytes, KvDType defaultDType,
        long offHeapCapacityBytes, long diskCapacityBytes, Path dataDirectory, boolean offloadCachedBlocks,
        int checkIntervalSeconds) {

    public static final int DEFAULT_BLOCK_SIZE_TOKENS = 16;
    public static final long DEFAULT_CAPACITY_BYTES = 256L << 20;
    public static final long DEFAULT_OFF_HEAP_CAPACITY_BYTES = 256L << 20;
    public static final long DEFAULT_DISK_CAPACITY_BYTES = 4L << 30;
    public static final int DEFAULT_CHECK_INTERVAL_SECONDS = 300;

    public KvCacheSettings {
        if (blockSizeTokens <= 0) {
            throw new IllegalArgumentException("blockSizeTokens must be positive: " + blockSizeTokens);
        }
        if (capacityBytes < 0 || offHeapCapacityBytes < 0 || diskCapacityBytes < 0) {
            throw new IllegalArgumentException("capacities must not be negative: " + capacityBytes + ", "
                    + offHeapCapacityBytes + ", " + diskCapacityBytes);
        }
        if (checkIntervalSeconds < 0) {
            throw new IllegalArgumentException("checkIntervalSeconds must not be negative: " + checkIntervalSeconds);
        }
        Objects.requireNonNull(dataDirectory, "dataDirectory");
    }

    /** The defaults: 16-token blocks, 256 MiB hot, 256 MiB off-heap, 4 GiB disk under the temp folder. */
    public static KvCacheSettings defaults() {
        return new KvCacheSettings(DEFAULT_BLOCK_SIZE_TOKENS, DEFAULT_CAPACITY_BYTES, null,
                DEFAULT_OFF_HEAP_CAPACITY_BYTES, DEFAULT_DISK_CAPACITY_BYTES, defaultDataDirectory(), true,
                DEFAULT_CHECK_INTERVAL_SECONDS);
    }

    /** {@code ${karaf.data}/kvcache} in Karaf, else {@code ${java.io.tmpdir}/halyard-kvcache}. */
    public static Path defaultDataDirectory() {
        String karafData = System.getProperty("karaf.data");
        return karafData != null ? Path.of(karafData, "kvcache")
                : Path.of(System.getProperty("java.io.tmpdir"), "halyard-kvcache");
    }

    public KvCacheSettings withBlockSizeTokens(int v) {
        return new KvCacheSettings(v, capacityBytes, defaultDType, offHeapCapacityBytes, diskCapacityBytes,
                dataDirectory, offloadCachedBlocks, checkIntervalSeconds);
    }

    public KvCacheSettings withCapacityBytes(long v) {
        return new KvCacheSettings(blockSizeTokens, v, defaultDType, offHeapCapacityBytes, diskCapacityBytes,
                dataDirectory, offloadCachedBlocks, checkIntervalSeconds);
    }

    public KvCacheSettings withDefaultDType(KvDType v) {
        return new KvCacheSettings(blockSizeTokens, capacityBytes, v, offHeapCapacityBytes, diskCapacityBytes,
                dataDirectory, offloadCachedBlocks, checkIntervalSeconds);
    }

    public KvCacheSettings withOffHeapCapacityBytes(long v) {
        return new KvCacheSettings(blockSizeTokens, capacityBytes, defaultDType, v, diskCapacityBytes,
                dataDirectory, offloadCachedBlocks, checkIntervalSeconds);
    }

    public KvCacheSettings withDiskCapacityBytes(long v) {
        return new KvCacheSettings(blockSizeTokens, capacityBytes, defaultDType, offHeapCapacityBytes, v,
                dataDirectory, offloadCachedBlocks, checkIntervalSeconds);
    }

    public KvCacheSettings withDataDirectory(Path v) {
        return new KvCacheSettings(blockSizeTokens, capacityBytes, defaultDType, offHeapCapacityBytes,
                diskCapacityBytes, v, offloadCachedBlocks, checkIntervalSeconds);
    }

    public KvCacheSettings withOffloadCachedBlocks(boolean v) {
        return new KvCacheSettings(blockSizeTokens, capacityBytes, defaultDType, offHeapCapacityBytes,
                diskCapacityBytes, dataDirectory, v, checkIntervalSeconds);
    }

    public KvCacheSettings withCheckIntervalSeconds(int v) {
        return new KvCacheSettings(blockSizeTokens, capacityBytes, defaultDType, offHeapCapacityBytes,
                diskCapacityBytes, dataDirectory, offloadCachedBlocks, v);
    }
}
