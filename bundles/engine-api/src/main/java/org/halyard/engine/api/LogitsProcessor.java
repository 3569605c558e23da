package org.halyard.engine.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Changes the next-token logits of one sequence before sampling: safety token masks, constrained
 * decoding (JSON schema, grammar), bias rules. A processor is created per request and may keep
 * state (a grammar's position); it must derive that state from the sequence's tokens, since a
 * preempted request is replayed and its processors see the same tokens again.
 *
 * <p>To forbid a token set its logit to {@link Float#NEGATIVE_INFINITY}; the engine never
 * samples such a token. If every token is forbidden the engine ends the sequence with an error.
 */
@ConsumerType
public interface LogitsProcessor {

    /**
     * @param sequence the sequence whose next token is being chosen
     * @param logits one value per vocabulary entry, changed in place
     */
    void process(SequenceState sequence, float[] logits);
}
