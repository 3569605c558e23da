package org.halyard.kvcache.impl;

/** Where a block's keys and values are: the hot pool, off-heap memory, or a mapped file. */
public enum Tier {
    /** Java arrays, counted against the cache's capacity. */
    HOT,
    /** Direct memory, counted against the off-heap capacity. */
    OFF_HEAP,
    /** A slot of a memory-mapped segment file under the data directory. */
    DISK
}
