package org.halyard.engine.api;

import java.util.Objects;
import org.halyard.kvcache.api.KvSequence;

/**
 * One sequence's part of a step: feed tokens {@code [start, start+count)} of the sequence (a
 * prefill chunk, or the one newest token when decoding), writing their keys and values into
 * slots {@code [slot, slot+count)} of {@code kv}, and optionally choose the next token.
 *
 * <p>A token's position (what RoPE rotates by) is its slot. The slot equals the token's index
 * unless the KV sequence dropped slots before it (a sliding window, see
 * {@link org.halyard.kvcache.api.KvCache#discard}); then {@code slot < start}:
 *
 * <pre>
 *   tokens:  0 .. sinks | (dropped) | kept ........ | start .. start+count
 *   slots:   0 .. sinks |             sinks ....... | slot  .. slot+count      slot = kv.length()
 * </pre>
 *
 * @param sequence the tokens and sampling of the request
 * @param kv where the keys and values live; {@code kv.length() == slot} and
 *     {@code kv.capacity() >= slot + count}
 * @param start the first token to feed (its index in the sequence)
 * @param count tokens to feed, at least 1
 * @param sample whether to choose the token after the last one fed (false for prefill chunks
 *     before the last)
 * @param returnLogits whether to return the raw logits at the last position too (for evaluation,
 *     perplexity and tests)
 * @param slot the KV slot, and position, of the first token fed: {@code start} unless slots were
 *     discarded
 */
public record StepEntry(SequenceState sequence, KvSequence kv, int start, int count,
        boolean sample, boolean returnLogits, int slot) {

    public StepEntry {
        Objects.requireNonNull(sequence, "sequence");
        Objects.requireNonNull(kv, "kv");
        if (start < 0 || count < 1 || start + count > sequence.length()) {
            throw new IllegalArgumentException("tokens [" + start + ", " + (start + count)
                    + ") are not in the sequence of length " + sequence.length());
        }
        if (slot < 0 || slot > start) {
            throw new IllegalArgumentException("slot " + slot + " must be in [0, " + start + "]");
        }
    }

    /** An entry whose tokens go to the slots of the same index (nothing was discarded). */
    public StepEntry(SequenceState sequence, KvSequence kv, int start, int count, boolean sample,
            boolean returnLogits) {
        this(sequence, kv, start, count, sample, returnLogits, start);
    }

    /** Feeds a slice and samples after it. */
    public static StepEntry sampling(SequenceState sequence, KvSequence kv, int start, int count) {
        return new StepEntry(sequence, kv, start, count, true, false);
    }

    /** Feeds a slice without sampling (a prefill chunk that is not the last). */
    public static StepEntry prefill(SequenceState sequence, KvSequence kv, int start, int count) {
        return new StepEntry(sequence, kv, start, count, false, false);
    }
}
