package org.halyard.engine.cpu.sample;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.SampledToken;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.SequenceState;
import org.halyard.engine.api.TokenLogprob;

/**
 * Chooses a sequence's next token from its logits, in the order {@link SamplingParams} defines:
 *
 * <pre>
 *   logits ─ logit bias ─ logits processors ─ repetition / presence / frequency penalties
 *          ─▶ log-probabilities (reported: chosen token and top-N)
 *          ─ temperature ─ top-k ─ top-p ─ min-p ─ draw with the generator of (seed, draw index)
 * </pre>
 *
 * Temperature 0 is an argmax (ties to the lowest id). A token whose logit is −∞ (or NaN) is never
 * chosen; when every token is, the result is {@link SampledToken#none()}.
 *
 * <p>One sampler per model, used by the stepping thread only: its scratch arrays are reused.
 */
public final class Sampler {

    private final int vocab;
    private final int[] counts;
    private final int[] touched;
    private final long[] keys;
    private final float[] probs;
    private final int[] order;

    public Sampler(int vocab) {
        this.vocab = vocab;
        this.counts = new int[vocab];
        this.touched = new int[vocab];
        this.keys = new long[vocab];
        this.probs = new float[vocab];
        this.order = new int[vocab];
    }

    /**
     * Samples the token after {@code seq}'s tokens.
     *
     * @param logits one value per vocabulary entry; changed in place (bias, processors, penalties)
     */
    public SampledToken sample(SequenceState seq, float[] logits) {
        if (logits.length != vocab) {
            throw new IllegalArgumentException(logits.length + " logits for a vocabulary of " + vocab);
        }
        SamplingParams p = seq.sampling();
        for (Map.Entry<Integer, Float> bias : p.logitBias().entrySet()) {
            int id = bias.getKey();
            if (id >= 0 && id < vocab) {
                logits[id] += bias.getValue();
            }
        }
        for (LogitsProcessor processor : seq.logitsProcessors()) {
            processor.process(seq, logits);
        }
        penalise(seq, p, logits);

        // log-softmax over what is allowed
        float max = Float.NEGATIVE_INFINITY;
        int argmax = -1;
        for (int i = 0; i < vocab; i++) {
            float l = logits[i];
            if (l != l) { // NaN: forbidden
                logits[i] = l = Float.NEGATIVE_INFINITY;
            }
            if (l > max) {
                max = l;
                argmax = i;
            }
        }
        if (argmax < 0 || max == Float.NEGATIVE_INFINITY) {
            return new SampledToken(-1, Float.NEGATIVE_INFINITY, List.of());
        }
        if (max == Float.POSITIVE_INFINITY) {
            // a processor forced a token: it is certain
            return new SampledToken(argmax, 0f, top(logits, p.topLogprobs(), max, 0));
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[i] - max);
        }
        float logZ = (float) (max + Math.log(sum));

        int token = p.greedy() ? argmax : draw(seq, p, logits, max);
        return new SampledToken(token, logits[token] - logZ, top(logits, p.topLogprobs(), max, logZ));
    }

    /**
     * Repetition penalty over prompt and output; presence and frequency penalties over the output,
     * as OpenAI and vLLM define them.
     */
    private void penalise(SequenceState seq, SamplingParams p, float[] logits) {
        boolean repetition = p.repetitionPenalty() != 1f;
        boolean occurrence = p.presencePenalty() != 0f || p.frequencyPenalty() != 0f;
        if (!repetition && !occurrence) {
            return;
        }
        int n = 0;
        int length = seq.length();
        int prompt = seq.promptLength();
        // counts[t]: occurrences in the output; touched: every distinct token seen (prompt or output)
        for (int i = 0; i < length; i++) {
            int t = seq.token(i);
            if (t < 0 || t >= vocab) {
                continue;
            }
            if (counts[t] == 0 && !seen(t, n)) {
                touched[n++] = t;
            }
            if (i >= prompt) {
                counts[t]++;
            }
        }
        for (int i = 0; i < n; i++) {
            int t = touched[i];
            float l = logits[t];
            if (repetition) {
                l = l > 0 ? l / p.repetitionPenalty() : l * p.repetitionPenalty();
            }
            if (counts[t] > 0) {
                l -= p.presencePenalty() + p.frequencyPenalty() * counts[t];
            }
            logits[t] = l;
            counts[t] = 0;
        }
        // clear the marks of tokens seen only in the prompt
        for (int i = 0; i < n; i++) {
            probs[touched[i]] = 0;
        }
    }

    /** Marks prompt-only tokens with a sentinel in {@code probs} so each is listed once. */
    private boolean seen(int t, int n) {
        if (probs[t] == -1f) {
            return true;
        }
        probs[t] = -1f;
        return false;
    }

    /** Temperature, top-k, top-p, min-p, then one draw. */
    private int draw(SequenceState seq, SamplingParams p, float[] logits, float max) {
        float invT = 1f / p.temperature();
        // candidates: allowed tokens, best first when a truncation needs the order
        int n = 0;
        boolean needOrder = p.topK() > 0 || p.topP() < 1f;
        for (int i = 0; i < vocab; i++) {
            if (logits[i] != Float.NEGATIVE_INFINITY) {
                if (needOrder) {
                    keys[n++] = descendingKey(logits[i], i);
                } else {
                    order[n++] = i;
                }
            }
        }
        if (needOrder) {
            Arrays.sort(keys, 0, n);
            for (int i = 0; i < n; i++) {
                order[i] = (int) keys[i];
            }
        }
        if (p.topK() > 0) {
            n = Math.min(n, p.topK());
        }
        // probabilities at temperature T over the candidates
        double sum = 0;
        float pmax = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp((logits[order[i]] - max) * invT);
            probs[i] = e;
            sum += e;
            pmax = Math.max(pmax, e);
        }
        if (p.topP() < 1f) {
            double target = p.topP() * sum;
            double cumulative = 0;
            int keep = 0;
            while (keep < n) {
                cumulative += probs[keep++];
                if (cumulative >= target) {
                    break;
                }
            }
            n = keep;
        }
        double total = 0;
        float floor = p.minP() * pmax;
        for (int i = 0; i < n; i++) {
            if (probs[i] < floor) {
                probs[i] = 0;
            }
            total += probs[i];
        }
        double u = uniform(p.seed(), seq.outputLength()) * total;
        int last = -1;
        for (int i = 0; i < n; i++) {
            if (probs[i] == 0) {
                continue;
            }
            last = i;
            u -= probs[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[last];
    }

    /** The N most likely tokens by log-probability, best first. */
    private List<TokenLogprob> top(float[] logits, int count, float max, float logZ) {
        if (count == 0) {
            return List.of();
        }
        // a small insertion-sorted list: count is at most 20
        int[] best = new int[count];
        int have = 0;
        for (int i = 0; i < vocab; i++) {
            float l = logits[i];
            if (l == Float.NEGATIVE_INFINITY || (have == count && l <= logits[best[have - 1]])) {
                continue;
            }
            int j = have < count ? have++ : count - 1;
            while (j > 0 && logits[best[j - 1]] < l) {
                best[j] = best[j - 1];
                j--;
            }
            best[j] = i;
        }
        List<TokenLogprob> out = new ArrayList<>(have);
        for (int i = 0; i < have; i++) {
            out.add(new TokenLogprob(best[i], logits[best[i]] == Float.POSITIVE_INFINITY ? 0f : logits[best[i]] - logZ));
        }
        return out;
    }

    /** A long that sorts by descending logit, then ascending token id. */
    private static long descendingKey(float logit, int token) {
        int bits = Float.floatToIntBits(logit);
        int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF);
        return ((long) ~sortable << 32) | token;
    }

    /**
     * The {@code n}-th uniform draw of a sequence with this seed, in [0, 1): a pure function of
     * (seed, n), so a request replayed after preemption draws the same tokens.
     */
    static double uniform(long seed, int n) {
        long z = mix(seed ^ mix(0x632BE59BD9B4E019L + n));
        return (z >>> 11) * 0x1.0p-53;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
