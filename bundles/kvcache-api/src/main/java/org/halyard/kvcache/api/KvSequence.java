package org.halyard.kvcache.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The keys and values of one sequence: its block table, seen as a run of slots.
 *
 * <p>Slot {@code i} holds the keys and values of the token at position {@code i}, unless
 * {@link KvCache#discard} removed slots before it (a sliding window), after which positions are
 * counted within the sequence as it is now. Slots
 * {@code [0, length())} are committed; the engine writes slots {@code [length(), capacity())}
 * during a step and the scheduler commits them afterwards, which publishes full blocks to the
 * prefix cache.
 *
 * <p>The engine's attention reads through {@link #keyDots} and {@link #valueSum}, so the block
 * type (F32, F16, INT8) and tier (hot, off-heap, disk) stay the cache's business:
 *
 * <pre>
 *   scores[t] = q · K[layer][kvHead][t]           t in [from, to)
 *   out      += Σ_t w[t] · V[layer][kvHead][t]
 * </pre>
 *
 * <p>Thread safety: reads of committed or written slots may run concurrently from many threads;
 * a slot is written by one thread, before it is read.
 */
@ProviderType
public interface KvSequence {

    /** The id given at {@link KvCache#open}. */
    String id();

    /** The options the sequence was opened with. */
    KvSequenceOptions options();

    /** Committed slots: tokens whose keys and values are present. */
    int length();

    /** Slots allocated: the engine may write up to here. */
    int capacity();

    /** Slots at the start that came from the prefix cache when the sequence was opened. */
    int cachedPrefixLength();

    /** False once the sequence's blocks were dropped; every other method then throws. */
    boolean valid();

    /**
     * Writes the keys and values of one layer for the token at {@code slot}.
     *
     * @param k {@code kvHeads * headDim} key values from {@code kOff} (after RoPE)
     * @param v {@code kvHeads * headDim} values from {@code vOff}
     * @throws IndexOutOfBoundsException when {@code slot} is not in {@code [length(), capacity())}
     */
    void write(int layer, int slot, float[] k, int kOff, float[] v, int vOff);

    /**
     * Dot products of one query head with the keys of slots {@code [from, to)} of one key/value
     * head: {@code out[outOff + t - from] = q[qOff .. qOff+headDim) · K[layer][kvHead][t]}.
     */
    void keyDots(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff);

    /**
     * Adds the weighted values of slots {@code [from, to)} of one key/value head into
     * {@code out[outOff .. outOff+headDim)}: {@code out += Σ_t w[wOff + t - from] · V[layer][kvHead][t]}.
     */
    void valueSum(int layer, int kvHead, float[] w, int wOff, int from, int to, float[] out, int outOff);

    /**
     * Marks the next {@code count} written slots as committed, with the tokens they hold, so that
     * full blocks can be shared by later sequences with the same prefix.
     *
     * @param tokens the tokens at slots {@code [length(), length()+count)}, from {@code off}
     */
    void commit(int[] tokens, int off, int count);

    /**
     * Re-encodes the keys of committed slots {@code [from, to)} of every layer and key/value
     * head through {@code rewriter}; values are left as they are. Blocks this sequence shares
     * with others (the prefix cache) are copied first, so nobody else sees the change; the
     * rewritten keys are stored in the sequence's block type again (F16 and INT8 round once
     * more) and stay in the tier they are in.
     *
     * <p>Call it between steps, never while a step reads or writes the sequence.
     *
     * @throws IndexOutOfBoundsException when {@code [from, to)} is not within {@code [0, length())}
     * @throws UnsupportedOperationException when this sequence cannot rewrite keys (the default)
     */
    default void rewriteKeys(int from, int to, KeyRewriter rewriter) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot rewrite keys");
    }
}
