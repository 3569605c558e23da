package org.halyard.serving.api;

import java.util.Objects;

/**
 * How a request's context was handled, reported with its {@link Completion} (and by the REST API
 * to the client).
 *
 * @param policy the policy in force
 * @param truncatedTokens prompt tokens left out at its start (TRUNCATE)
 * @param evictedTokens tokens whose keys and values left the window (SLIDE)
 * @param windowTokens the most tokens the request attended to at once: the window under SLIDE,
 *     else the model's context
 */
public record ContextReport(ContextPolicy.Overflow policy, int truncatedTokens, int evictedTokens,
        int windowTokens) {

    public ContextReport {
        Objects.requireNonNull(policy, "policy");
    }

    /** Nothing to report: REJECT, nothing dropped, window unknown. */
    public static final ContextReport NONE = new ContextReport(ContextPolicy.Overflow.REJECT, 0, 0, 0);
}
