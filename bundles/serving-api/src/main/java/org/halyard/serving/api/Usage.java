package org.halyard.serving.api;

/**
 * Token counts of one generation.
 *
 * @param promptTokens tokens in the prompt
 * @param completionTokens tokens generated
 * @param cachedTokens prompt tokens served from the prefix cache
 */
public record Usage(int promptTokens, int completionTokens, int cachedTokens) {

    /** Prompt plus completion tokens. */
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
