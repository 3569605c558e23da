package org.halyard.engine.api;

import java.util.List;

/**
 * The token chosen for one sequence in a step.
 *
 * @param token the token id, or -1 when every token was forbidden by the logits processors
 * @param logprob its log-probability (see {@link TokenLogprob})
 * @param top the most likely alternatives, best first, as many as
 *     {@link SamplingParams#topLogprobs()} asked for
 */
public record SampledToken(int token, float logprob, List<TokenLogprob> top) {

    public SampledToken {
        top = top == null ? List.of() : List.copyOf(top);
    }

    /** Whether no token could be chosen. */
    public boolean none() {
        return token < 0;
    }
}
