package org.halyard.serving.api;

import java.time.Duration;

/**
 * A request the scheduler holds, as {@code halyard:requests} lists it.
 *
 * @param requestId the request's id
 * @param model the model's name
 * @param mode the serving mode
 * @param priority its class
 * @param state where it is
 * @param promptTokens prompt length
 * @param computedTokens tokens whose KV is computed
 * @param outputTokens tokens generated
 * @param age time since submission
 */
public record RequestStatus(String requestId, String model, String mode, PriorityClass priority,
        State state, int promptTokens, int computedTokens, int outputTokens, Duration age) {

    /** Where a request is. */
    public enum State {
        /** Waiting for its first step. */
        QUEUED,
        /** In the running batch. */
        RUNNING,
        /** Preempted; waiting to be replayed. */
        PREEMPTED
    }
}
