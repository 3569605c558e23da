package org.halyard.kvcache.impl;

import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.block.BlockData;

/**
 * One block of the pool: its id, where its data is and who uses it. Everything but {@link #data}
 * is guarded by the cache's lock; {@code data} is volatile because readers follow it without one.
 */
final class Block {

    final int id;
    final KvDType dtype;

    /** The keys and values; replaced (never mutated once sealed) when the block changes tier. */
    volatile BlockData data;

    Tier tier = Tier.HOT;
    /** Sequences whose block table holds this block. */
    int refCount;
    /** Set when the block was sealed by a sequence that uses the prefix cache. */
    BlockHash hash;
    /** Whether this block is the prefix cache's entry for {@link #hash}. */
    boolean published;
    /** Whether the block is full, committed and immutable. */
    boolean sealed;
    /** Bytes counted for this block in its tier (its data's size when last accounted). */
    long bytes;
    /** The disk tier's slot, when {@link #tier} is {@link Tier#DISK}. */
    Object slot;

    Block(int id, KvDType dtype, BlockData data) {
        this.id = id;
        this.dtype = dtype;
        this.data = data;
        this.bytes = data.bytes();
    }

    @Override
    public String toString() {
        return "block " + id + " (" + dtype + ", " + tier + ", refs " + refCount
                + (hash == null ? "" : ", hash " + hash.shortString()) + ")";
    }
}
