package org.halyard.engine.api;

/**
 * A token and its log-probability.
 *
 * @param token the token id
 * @param logprob natural log of its probability after logits processors and penalties, before
 *     temperature and truncation
 */
public record TokenLogprob(int token, float logprob) {
}
