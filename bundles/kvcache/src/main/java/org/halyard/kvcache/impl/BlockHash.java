package org.halyard.kvcache.impl;

/**
 * The identity of a full block's contents: 128 bits of a SHA-256 over its parent's hash, its
 * tokens and extra keys, chained from a root of model version, block type and salt (see
 * {@link BlockHashes}). Two blocks with the same hash hold the keys and values of the same tokens
 * after the same prefix, computed by the same model version, in the same type.
 *
 * @param hi the first 64 bits
 * @param lo the next 64 bits
 */
public record BlockHash(long hi, long lo) {

    @Override
    public String toString() {
        return String.format("%016x%016x", hi, lo);
    }

    /** The first 16 hex digits, for logs. */
    public String shortString() {
        return String.format("%016x", hi);
    }
}
