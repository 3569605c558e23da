package org.halyard.kvcache.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The KV blocks of one model version: a pool of fixed-size blocks, the sequences that use them
 * and the prefix cache that lets identical prefixes share them.
 *
 * <p>Thread safety: all methods may be called from any thread. The scheduler is the only caller
 * of {@link #open}, {@link #allocate}, {@link #discard} and {@link #release}; engines use the
 * sequences they are handed.
 */
@ProviderType
public interface KvCache extends AutoCloseable {

    /** What this cache was created for. */
    KvCacheSpec spec();

    /** Tokens per block. */
    int blockSizeTokens();

    /**
     * Opens a sequence for a prompt. With prefix caching on, the longest run of full blocks
     * already cached for the same prefix (same model version, dtype and salt) is shared, and
     * {@link KvSequence#length()} of the result says how many leading tokens need no prefill.
     * At least the last prompt token is always left to compute, so the model yields logits.
     *
     * @param sequenceId the request's id, for stats and the shell
     * @param promptTokens the tokens the sequence starts with (not retained; may be empty)
     */
    KvSequence open(String sequenceId, int[] promptTokens, KvSequenceOptions options);

    /**
     * Makes room for {@code newTokens} more tokens after the sequence's current capacity
     * (evicting unreferenced cached blocks, least recently used first, as needed).
     *
     * @return false, leaving the sequence as it was, when the pool (or the sequence's budget)
     *     cannot hold them: the caller decides whom to preempt
     */
    boolean allocate(KvSequence sequence, int newTokens);

    /**
     * Gives a sequence's blocks back. Full blocks stay in the prefix cache until evicted. Safe to
     * call twice and on an invalidated sequence.
     */
    void release(KvSequence sequence);

    /**
     * Removes committed slots {@code [from, to)} of a sequence: the slots after them move down by
     * {@code to - from}, and its length and capacity shrink by as much. This is how a sliding
     * window drops its oldest tokens while keeping the first ones (attention sinks). Whole blocks
     * leave the block table and nothing is copied, so {@code from} and {@code to} are multiples
     * of {@link #blockSizeTokens()}; dropped blocks the prefix cache holds stay cached for other
     * sequences.
     *
     * <p>The slots that move keep the keys and values they hold: a model whose keys encode their
     * position re-encodes them first ({@code Model.shiftPositions}). From now on the sequence
     * publishes no more blocks to the prefix cache, since what it computes no longer equals what
     * a prefill of its tokens would compute. Call it between steps.
     *
     * @throws IllegalArgumentException when the bounds are not whole blocks within the committed,
     *     sealed slots ({@code 0 <= from < to <= length()} rounded down to a block)
     * @throws UnsupportedOperationException when this cache cannot remove slots (the default)
     */
    default void discard(KvSequence sequence, int from, int to) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot discard slots");
    }

    /** Memory and cache counters now. */
    KvUsage usage();

    /**
     * Wipes every block, cached or in use. Each open sequence becomes invalid
     * ({@link KvSequence#valid()} is false); its owner releases it and rebuilds it from its token
     * history. Used by the operator command, the chaos drill, and when a consistency check fails.
     */
    void drop();

    /** Checks internal invariants (reference counts, free lists, hashes); drops on failure. */
    KvCheck check();

    /** Drops everything and frees the memory; the cache cannot be used afterwards. */
    @Override
    void close();
}
