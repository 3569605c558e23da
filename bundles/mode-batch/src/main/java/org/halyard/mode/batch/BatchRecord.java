package org.halyard.mode.batch;

/**
 * A batch as the {@code batches} table holds it. Times are epoch seconds, null until reached.
 *
 * @param id {@code batch_...}
 * @param tenant the owner (API key name)
 * @param endpoint where its lines go
 * @param inputFileId the uploaded JSONL
 * @param completionWindow as given ({@code 24h})
 * @param status OpenAI's status, as clients see it
 * @param outcome the final status once finalization has begun (completed, cancelled, expired), so
 *     that a restart finishes it; null before
 * @param total lines, known after validation
 * @param completed lines answered successfully (updated as they are, and exactly at the end)
 * @param failed lines answered with an error
 * @param outputFileId the output file (reserved when finalization begins, visible once ended)
 * @param errorFileId the error file (likewise)
 * @param errors validation errors: the JSON of OpenAI's {@code errors} object, or null
 * @param metadata the client's metadata: a JSON object, or null
 */
record BatchRecord(String id, String tenant, String endpoint, String inputFileId, String completionWindow,
        String status, String outcome, long createdAt, Long inProgressAt, long expiresAt, Long finalizingAt,
        Long completedAt, Long failedAt, Long expiredAt, Long cancellingAt, Long cancelledAt, int total,
        int completed, int failed, String outputFileId, String errorFileId, String errors, String metadata) {

    static final String VALIDATING = "validating";
    static final String FAILED = "failed";
    static final String IN_PROGRESS = "in_progress";
    static final String FINALIZING = "finalizing";
    static final String COMPLETED = "completed";
    static final String EXPIRED = "expired";
    static final String CANCELLING = "cancelling";
    static final String CANCELLED = "cancelled";

    /** Whether the batch has reached a final status. */
    boolean ended() {
        return switch (status) {
            case COMPLETED, FAILED, EXPIRED, CANCELLED -> true;
            default -> false;
        };
    }

    /** When it reached its final status, or null. */
    Long endedAt() {
        return switch (status) {
            case COMPLETED -> completedAt;
            case FAILED -> failedAt;
            case EXPIRED -> expiredAt;
            case CANCELLED -> cancelledAt;
            default -> null;
        };
    }
}
