package org.halyard.kvcache.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Changes stored keys in place, one key vector at a time: what a model supplies to
 * {@link KvSequence#rewriteKeys} when the keys it stored must be re-encoded, for example rotated
 * to new positions after a sliding window dropped the tokens before them (llama.cpp's K-shift).
 * The cache hands over each key as floats, whatever its block type, and stores the result back
 * in that type.
 */
@ConsumerType
@FunctionalInterface
public interface KeyRewriter {

    /**
     * Rewrites one key vector.
     *
     * @param layer the transformer layer
     * @param kvHead the key/value head
     * @param slot the slot the key is stored in
     * @param key the key's {@code headDim} values from {@code off}, to be changed in place
     */
    void rewrite(int layer, int kvHead, int slot, float[] key, int off);
}
