package org.halyard.engine.api;

import java.util.Objects;
import org.halyard.kvcache.api.KvSequence;

/**
 * One sequence's part of a step: feed tokens {@code [start, start+count)} of the sequence (a
 * prefill chunk, or the one newest token when decoding), writing their keys and values into
 * slots {@code [start, start+count)} of {@code kv}, and optionally choose the next token.
 *
 * @param sequence the tokens and sampling of the request
 * @param kv where the keys and values live; {@code kv.length() == start} and
 *     {@code kv.capacity() >= start + count}
 * @param start the first token to feed (its position)
 * @param count tokens to feed, at least 1
 * @param sample whether to choose the token after the last one fed (false for prefill chunks
 *     before the last)
 * @param returnLogits whether to return the raw logits at the last position too (for evaluation,
 *     perplexity and tests)
 */
public record StepEntry(SequenceState sequence, KvSequence kv, int start, int count,
        boolean sample, boolean returnLogits) {

    public StepEntry {
        Objects.requireNonNull(sequence, "sequence");
        Objects.requireNonNull(kv, "kv");
        if (start < 0 || count < 1 || start + count > sequence.length()) {
            throw new IllegalArgumentException("tokens [" + start + ", " + (start + count)
                    + ") are not in the sequence of length " + sequence.length());
        }
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
