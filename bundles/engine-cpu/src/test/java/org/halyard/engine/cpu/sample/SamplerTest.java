package org.halyard.engine.cpu.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.SampledToken;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.TokenLogprob;
import org.halyard.engine.cpu.TestSequence;
import org.junit.jupiter.api.Test;

/** Every sampling option on small hand-made logits. */
class SamplerTest {

    static final int V = 8;

    static SamplingParams params(float t, int k, float p, float minP, float rep, float pres, float freq, long seed,
            Map<Integer, Float> bias, int top) {
        return new SamplingParams(t, k, p, minP, rep, pres, freq, seed, bias, top);
    }

    static SampledToken sample(SamplingParams p, float[] logits, int[] prompt, int[] output, LogitsProcessor... lp) {
        TestSequence s = new TestSequence("r", prompt, p, List.of(lp));
        for (int t : output) {
            s.append(t);
        }
        return new Sampler(V).sample(s, logits.clone());
    }

    static final float[] LOGITS = {1f, 3f, 2f, 0.5f, 2.9f, -1f, 0f, 1.5f};

    @Test
    void greedyTakesTheArgmaxWithTiesToTheLowestId() {
        assertEquals(1, sample(SamplingParams.GREEDY, LOGITS, new int[] {0}, new int[0]).token());
        assertEquals(2, sample(SamplingParams.GREEDY, new float[] {0, 0, 5, 5, 0, 0, 0, 0}, new int[] {0}, new int[0]).token());
    }

    @Test
    void logprobsAreTheLogSoftmaxAndTopLogprobsAreSortedBestFirst() {
        SampledToken s = sample(params(0, 0, 1, 0, 1, 0, 0, 0, Map.of(), 3), LOGITS, new int[] {0}, new int[0]);
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        assertEquals(3f - Math.log(z), s.logprob(), 1e-5);
        assertEquals(List.of(1, 4, 2), s.top().stream().map(TokenLogprob::token).toList());
        assertEquals(s.logprob(), s.top().get(0).logprob(), 1e-6);
        assertEquals(2.9 - Math.log(z), s.top().get(1).logprob(), 1e-5);
        assertEquals(V, sample(params(0, 0, 1, 0, 1, 0, 0, 0, Map.of(), 20), new float[V], new int[] {0}, new int[0])
                .top().size(), "at most the vocabulary");
    }

    @Test
    void logitBiasIsAddedBeforeChoosing() {
        SampledToken s = sample(params(0, 0, 1, 0, 1, 0, 0, 0, Map.of(5, 10f, 1, -100f, 999, 5f), 0), LOGITS,
                new int[] {0}, new int[0]);
        assertEquals(5, s.token(), "bias on 5 wins; an id outside the vocabulary is ignored");
    }

    @Test
    void logitsProcessorsRunInOrderAndSeeTheSequence() {
        LogitsProcessor forbidTop = (seq, logits) -> logits[1] = Float.NEGATIVE_INFINITY;
        LogitsProcessor sawOutput = (seq, logits) -> {
            assertEquals(2, seq.outputLength());
            assertEquals(Float.NEGATIVE_INFINITY, logits[1], "runs after the first processor");
        };
        SampledToken s = sample(SamplingParams.GREEDY, LOGITS, new int[] {0}, new int[] {6, 6}, forbidTop, sawOutput);
        assertEquals(4, s.token());
        // forbidden tokens are never drawn, at any temperature
        for (long seed = 0; seed < 200; seed++) {
            assertNotEquals(1, sample(params(5f, 0, 1, 0, 1, 0, 0, seed, Map.of(), 0), LOGITS, new int[] {0}, new int[0],
                    forbidTop).token());
        }
    }

    @Test
    void everyTokenForbiddenGivesNone() {
        LogitsProcessor all = (seq, logits) -> Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        assertTrue(sample(SamplingParams.GREEDY, LOGITS, new int[] {0}, new int[0], all).none());
        assertTrue(sample(params(1f, 3, 0.9f, 0.1f, 1.2f, 0, 0, 1, Map.of(), 5), LOGITS, new int[] {0}, new int[0], all)
                .none());
        LogitsProcessor nan = (seq, logits) -> Arrays.fill(logits, Float.NaN);
        assertTrue(sample(SamplingParams.GREEDY, LOGITS, new int[] {0}, new int[0], nan).none());
    }

    @Test
    void repetitionPenaltyCoversPromptAndOutputPresenceAndFrequencyOnlyTheOutput() {
        // token 1 (3.0) is in the prompt: divided by 2 -> 1.5, so 4 (2.9) wins
        assertEquals(4, sample(params(0, 0, 1, 0, 2f, 0, 0, 0, Map.of(), 0), LOGITS, new int[] {1}, new int[0]).token());
        // a negative logit is multiplied: 5 (-1) would become -2
        float[] neg = {-1f, -1.5f, -3, -3, -3, -3, -3, -3};
        assertEquals(1, sample(params(0, 0, 1, 0, 2f, 0, 0, 0, Map.of(), 0), neg, new int[] {0}, new int[0]).token());
        // presence: token 1 in the prompt only is not penalised
        assertEquals(1, sample(params(0, 0, 1, 0, 1, 5f, 0, 0, Map.of(), 0), LOGITS, new int[] {1}, new int[0]).token());
        // presence: once in the output costs 0.2 -> 2.8 < 2.9
        assertEquals(4, sample(params(0, 0, 1, 0, 1, 0.2f, 0, 0, Map.of(), 0), LOGITS, new int[] {0}, new int[] {1}).token());
        // frequency: per occurrence; 1 twice at 0.06 -> 2.88 < 2.9, once -> 2.94
        assertEquals(4, sample(params(0, 0, 1, 0, 1, 0, 0.06f, 0, Map.of(), 0), LOGITS, new int[] {0}, new int[] {1, 1}).token());
        assertEquals(1, sample(params(0, 0, 1, 0, 1, 0, 0.06f, 0, Map.of(), 0), LOGITS, new int[] {0}, new int[] {1}).token());
        // the reported logprob is after penalties
        SampledToken s = sample(params(0, 0, 1, 0, 2f, 0, 0, 0, Map.of(), 0), LOGITS, new int[] {1}, new int[0]);
        float[] after = LOGITS.clone();
        after[1] = 1.5f;
        double z = 0;
        for (float l : after) {
            z += Math.exp(l);
        }
        assertEquals(2.9 - Math.log(z), s.logprob(), 1e-5);
    }

    private static Set<Integer> drawn(SamplingParams p, int n) {
        Set<Integer> seen = new HashSet<>();
        for (long seed = 0; seed < n; seed++) {
            seen.add(sample(p.withSeed(seed), LOGITS, new int[] {0}, new int[0]).token());
        }
        return seen;
    }

    @Test
    void topKTopPAndMinPTruncateTheCandidates() {
        assertEquals(Set.of(1, 4), drawn(params(1f, 2, 1, 0, 1, 0, 0, 0, Map.of(), 0), 300));
        assertEquals(Set.of(1), drawn(params(1f, 1, 1, 0, 1, 0, 0, 0, Map.of(), 0), 50));
        // probabilities at T=1: 1 and 4 are ~0.30 and ~0.27, 2 ~0.11: top-p 0.5 keeps {1, 4}
        assertEquals(Set.of(1, 4), drawn(params(1f, 0, 0.5f, 0, 1, 0, 0, 0, Map.of(), 0), 300));
        // min-p 0.5 keeps tokens at least half as likely as the best: 1 (3.0), 4 (2.9), 2 (2.0 -> e^-1 = 0.37 < 0.5)
        assertEquals(Set.of(1, 4), drawn(params(1f, 0, 1, 0.5f, 1, 0, 0, 0, Map.of(), 0), 300));
        assertEquals(Set.of(1, 4, 2), drawn(params(1f, 0, 1, 0.3f, 1, 0, 0, 0, Map.of(), 0), 400));
        // no truncation: everything can come up at a high temperature
        assertEquals(V, drawn(params(50f, 0, 1, 0, 1, 0, 0, 0, Map.of(), 0), 800).size());
    }

    @Test
    void temperatureSharpensOrFlattens() {
        int cold = 0;
        int hot = 0;
        for (long seed = 0; seed < 400; seed++) {
            cold += sample(params(0.1f, 0, 1, 0, 1, 0, 0, seed, Map.of(), 0), LOGITS, new int[] {0}, new int[0]).token() == 1 ? 1 : 0;
            hot += sample(params(3f, 0, 1, 0, 1, 0, 0, seed, Map.of(), 0), LOGITS, new int[] {0}, new int[0]).token() == 1 ? 1 : 0;
        }
        assertTrue(cold > 300, "T=0.1 mostly argmax: " + cold);
        assertTrue(hot < 150, "T=3 spreads: " + hot);
    }

    @Test
    void drawsAreReproducibleFromSeedAndDrawIndex() {
        SamplingParams p = params(1f, 0, 1, 0, 1, 0, 0, 42, Map.of(), 0);
        int[] a = new int[40];
        int[] b = new int[40];
        for (int i = 0; i < 40; i++) {
            int[] output = new int[i];
            a[i] = sample(p, LOGITS, new int[] {0}, output).token();
            b[i] = sample(p, LOGITS, new int[] {0}, output).token();
        }
        assertArrayEquals(a, b, "same seed, same draw index: same token");
        assertTrue(Arrays.stream(a).distinct().count() > 2, "the draw index changes the draw");
        int[] c = new int[40];
        for (int i = 0; i < 40; i++) {
            c[i] = sample(p.withSeed(43), LOGITS, new int[] {0}, new int[i]).token();
        }
        assertTrue(!Arrays.equals(a, c), "another seed draws differently");
        assertEquals(Sampler.uniform(7, 3), Sampler.uniform(7, 3));
        for (int i = 0; i < 1000; i++) {
            double u = Sampler.uniform(i, i * 7);
            assertTrue(u >= 0 && u < 1);
        }
    }

    @Test
    void wrongLogitCountIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(V).sample(new TestSequence(new int[] {0}), new float[3]));
    }
}
