package org.halyard.engine.api;

/**
 * What the mixture-of-experts router of one layer did in one step.
 *
 * @param layer the layer index
 * @param tokens tokens routed
 * @param expertTokens for each expert, how many of those tokens chose it (each token chooses
 *     {@code expertsUsed} experts)
 * @param entropySum the sum over tokens of the entropy (nats) of the router's softmax over all
 *     experts; divide by {@code tokens} for the mean
 */
public record LayerRouting(int layer, int tokens, long[] expertTokens, double entropySum) {

    public LayerRouting {
        expertTokens = expertTokens.clone();
    }

    /** Copy of the per-expert token counts. */
    @Override
    public long[] expertTokens() {
        return expertTokens.clone();
    }

    /** Mean router entropy per token in nats, 0 when no tokens were routed. */
    public double meanEntropy() {
        return tokens == 0 ? 0 : entropySum / tokens;
    }
}
