package org.halyard.serving.api.batch;

import java.time.Instant;
import java.util.List;

/**
 * One batch as {@link BatchService} reports it.
 *
 * @param id the batch id ({@code batch_...})
 * @param tenant who created it (the API key's name)
 * @param endpoint the endpoint its lines go to ({@code /v1/chat/completions}, {@code /v1/completions})
 * @param status OpenAI's status: validating, failed, in_progress, finalizing, completed, expired,
 *     cancelling, cancelled
 * @param inputFileId the uploaded input file
 * @param outputFileId the file of successful lines, once it ended; null before or when none
 * @param errorFileId the file of failed lines, once it ended; null before or when none
 * @param total lines in the input
 * @param completed lines answered successfully so far
 * @param failed lines answered with an error so far
 * @param inFlight lines running now
 * @param createdAt when it was created
 * @param expiresAt when its completion window ends
 * @param endedAt when it reached its final status; null before
 * @param errors why it failed validation (one message per problem, with its line); empty otherwise
 */
public record BatchInfo(String id, String tenant, String endpoint, String status, String inputFileId,
        String outputFileId, String errorFileId, int total, int completed, int failed, int inFlight,
        Instant createdAt, Instant expiresAt, Instant endedAt, List<String> errors) {

    public BatchInfo {
        errors = errors == null ? List.of() : List.copyOf(errors);
    }

    /** Whether the batch has reached a final status. */
    public boolean ended() {
        return switch (status) {
            case "completed", "failed", "expired", "cancelled" -> true;
            default -> false;
        };
    }
}
