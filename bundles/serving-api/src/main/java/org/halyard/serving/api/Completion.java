package org.halyard.serving.api;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a generation ended.
 *
 * @param requestId the request's id
 * @param reason why it ended
 * @param text the whole output text (without a matched stop sequence)
 * @param usage token counts
 * @param queueTime from submission to the first step that included it
 * @param timeToFirstToken from submission to the first output token
 * @param totalTime from submission to the end
 * @param preemptions times the request was preempted and replayed
 * @param error what failed when {@code reason} is {@link FinishReason#ERROR}
 * @param context how the context was handled: the policy in force and what it dropped
 */
public record Completion(String requestId, FinishReason reason, String text, Usage usage,
        Duration queueTime, Duration timeToFirstToken, Duration totalTime, int preemptions,
        Optional<String> error, ContextReport context) {

    public Completion {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(reason, "reason");
        text = text == null ? "" : text;
        error = error == null ? Optional.empty() : error;
        context = context == null ? ContextReport.NONE : context;
    }

    /** A completion with nothing to report about its context. */
    public Completion(String requestId, FinishReason reason, String text, Usage usage, Duration queueTime,
            Duration timeToFirstToken, Duration totalTime, int preemptions, Optional<String> error) {
        this(requestId, reason, text, usage, queueTime, timeToFirstToken, totalTime, preemptions, error,
                ContextReport.NONE);
    }
}
