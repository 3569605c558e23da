package org.halyard.telemetry.api;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One finished request, as metrics and exporters see it. Text fields carry the client's content
 * and are for exporters that are explicitly configured to export it (through their privacy
 * filter); metrics never use them.
 *
 * @param requestId the request's id
 * @param tenant the caller (API key name)
 * @param mode the serving mode
 * @param model the served model
 * @param endpoint the API path, for example {@code /v1/chat/completions}
 * @param outcome how it ended
 * @param finishReason OpenAI's finish reason, or the rejection reason
 * @param httpStatus the status answered
 * @param promptTokens prompt tokens
 * @param cachedTokens prompt tokens served from the prefix cache
 * @param outputTokens generated tokens
 * @param start when the request arrived
 * @param queueTime from arrival to the first step
 * @param timeToFirstToken from arrival to the first output token; null when none
 * @param totalTime from arrival to the end
 * @param verdicts safety verdicts as {@code stage:classifier:action:category}
 * @param prompt the prompt text, or null
 * @param output the output text, or null
 * @param attributes further small facts (client labels, batch id)
 */
public record RequestRecord(String requestId, String tenant, String mode, String model, String endpoint,
        Outcome outcome, String finishReason, int httpStatus, int promptTokens, int cachedTokens,
        int outputTokens, Instant start, Duration queueTime, Duration timeToFirstToken,
        Duration totalTime, List<String> verdicts, String prompt, String output,
        Map<String, String> attributes) {

    public RequestRecord {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(start, "start");
        tenant = tenant == null ? "anonymous" : tenant;
        mode = mode == null ? "" : mode;
        model = model == null ? "" : model;
        endpoint = endpoint == null ? "" : endpoint;
        finishReason = finishReason == null ? "" : finishReason;
        queueTime = queueTime == null ? Duration.ZERO : queueTime;
        totalTime = totalTime == null ? Duration.ZERO : totalTime;
        verdicts = verdicts == null ? List.of() : List.copyOf(verdicts);
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }

    /** Mean time per output token after the first, or null with fewer than two tokens. */
    public Duration timePerOutputToken() {
        if (timeToFirstToken == null || outputTokens < 2) {
            return null;
        }
        return totalTime.minus(timeToFirstToken).dividedBy(outputTokens - 1);
    }
}
