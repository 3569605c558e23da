package org.halyard.telemetry.api;

/**
 * What one mixture-of-experts layer's router did in one step.
 *
 * @param layer the layer
 * @param tokens tokens routed
 * @param expertTokens tokens per expert
 * @param entropySum summed router entropy in nats
 */
public record RouterLoad(int layer, int tokens, long[] expertTokens, double entropySum) {

    public RouterLoad {
        expertTokens = expertTokens.clone();
    }

    @Override
    public long[] expertTokens() {
        return expertTokens.clone();
    }
}
