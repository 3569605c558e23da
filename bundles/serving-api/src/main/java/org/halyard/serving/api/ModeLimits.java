package org.halyard.serving.api;

/**
 * The limits a serving mode applies before admitting a request.
 *
 * @param maxPromptTokens longest prompt accepted
 * @param maxOutputTokens largest {@code max_tokens} accepted
 * @param maxQueuedRequests requests of this mode that may wait at once; more are shed (503)
 * @param maxQueuedTokens prompt tokens of this mode that may wait at once; more are shed (503)
 * @param maxRunning requests of this mode that may run at once
 */
public record ModeLimits(int maxPromptTokens, int maxOutputTokens, int maxQueuedRequests,
        long maxQueuedTokens, int maxRunning) {
}
