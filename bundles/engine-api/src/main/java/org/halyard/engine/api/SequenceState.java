package org.halyard.engine.api;

import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * One sequence as the engine sees it in a step: its tokens so far (prompt, then output), how to
 * sample its next token and the logits processors to apply. Implemented by the scheduler, one
 * per request; the engine only reads it.
 */
@ConsumerType
public interface SequenceState {

    /** The request's id. */
    String requestId();

    /** Tokens of the prompt. */
    int promptLength();

    /** Tokens so far: prompt plus output. */
    int length();

    /** The token at {@code index} ({@code 0 <= index < length()}). */
    int token(int index);

    /** Output tokens so far ({@code length() - promptLength()}). */
    default int outputLength() {
        return length() - promptLength();
    }

    /** How to choose the next token. */
    SamplingParams sampling();

    /** Applied, in order, to the logits before sampling; empty for none. */
    List<LogitsProcessor> logitsProcessors();
}
