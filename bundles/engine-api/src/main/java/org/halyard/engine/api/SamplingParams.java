package org.halyard.engine.api;

import java.util.Map;

/**
 * How the next token is chosen. Applied in this order to the logits: logit bias, logits
 * processors, repetition / presence / frequency penalties, then temperature, top-k, top-p and
 * min-p truncation and the draw. Temperature 0 is greedy (argmax).
 *
 * @param temperature 0 for greedy, otherwise the softmax temperature
 * @param topK keep the k most likely tokens; 0 for all
 * @param topP keep the smallest set whose probability reaches p; 1 for all
 * @param minP drop tokens less likely than minP times the most likely one; 0 for none
 * @param repetitionPenalty divides positive (multiplies negative) logits of tokens already in
 *     prompt or output; 1 for none
 * @param presencePenalty subtracted once from the logits of tokens already in the output
 * @param frequencyPenalty subtracted per occurrence in the output
 * @param seed seed of this sequence's draws; the n-th draw uses a generator derived from
 *     (seed, n), so a request replayed after preemption draws the same tokens
 * @param logitBias added to the logits of the given token ids
 * @param topLogprobs how many alternatives' log-probabilities to return with each token (0-20)
 */
public record SamplingParams(float temperature, int topK, float topP, float minP,
        float repetitionPenalty, float presencePenalty, float frequencyPenalty, long seed,
        Map<Integer, Float> logitBias, int topLogprobs) {

    /** Greedy decoding, no penalties. */
    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1, 0, 1, 0, 0, 0, Map.of(), 0);

    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0: " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0: " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1]: " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("minP must be in [0, 1]: " + minP);
        }
        if (!(repetitionPenalty > 0) || Float.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetitionPenalty must be finite and > 0: " + repetitionPenalty);
        }
        if (!Float.isFinite(presencePenalty) || !Float.isFinite(frequencyPenalty)) {
            throw new IllegalArgumentException("penalties must be finite");
        }
        if (topLogprobs < 0 || topLogprobs > 20) {
            throw new IllegalArgumentException("topLogprobs must be in [0, 20]: " + topLogprobs);
        }
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
    }

    /** Whether the draw is an argmax. */
    public boolean greedy() {
        return temperature == 0;
    }

    /** These parameters with another temperature. */
    public SamplingParams withTemperature(float t) {
        return new SamplingParams(t, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, seed, logitBias, topLogprobs);
    }

    /** These parameters with another seed. */
    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, s, logitBias, topLogprobs);
    }
}
