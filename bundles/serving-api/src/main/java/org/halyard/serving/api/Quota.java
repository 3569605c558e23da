package org.halyard.serving.api;

/**
 * What one caller (API key) may use, as its configuration gives it. The REST API attaches the
 * authenticated key's quota to each {@link GenerationRequest}; serving modes enforce it at
 * admission and answer {@link RejectedException.Reason#QUOTA} (429) when it is used up.
 *
 * @param concurrentRequests requests of the caller admitted and not yet finished at once; 0 for
 *     no limit
 * @param requestsPerMinute requests admitted per minute (a token bucket refilled continuously);
 *     0 for no limit
 * @param tokensPerMinute prompt plus {@code max_tokens} tokens admitted per minute; 0 for no
 *     limit
 */
public record Quota(int concurrentRequests, int requestsPerMinute, long tokensPerMinute) {

    /** No limits: open access, or a key configured without them. */
    public static final Quota UNLIMITED = new Quota(0, 0, 0);

    public Quota {
        if (concurrentRequests < 0 || requestsPerMinute < 0 || tokensPerMinute < 0) {
            throw new IllegalArgumentException("quota values must not be negative: " + concurrentRequests
                    + ", " + requestsPerMinute + ", " + tokensPerMinute);
        }
    }

    /** Whether every limit is off. */
    public boolean unlimited() {
        return concurrentRequests == 0 && requestsPerMinute == 0 && tokensPerMinute == 0;
    }
}
