package org.halyard.itest.ultralong;

import java.util.ArrayList;
import java.util.List;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.SequenceState;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;

/**
 * Perplexity of a model on a token stream, one token a step (every position's logits), under the
 * ways of going past the context that docs/ultralong.md compares:
 *
 * <pre>
 *   IN_CONTEXT  each speech on its own from position 0, as the model was trained
 *   SLIDE       one stream; sinks + window; when full, the oldest blocks after the sinks leave and
 *               the keys behind them are rotated back (Model.shiftPositions, then KvCache.discard):
 *               what the scheduler does for context_policy slide
 *   NO_SHIFT    the same window without the rotation: kept keys keep their old positions
 *   NO_SINKS    the same, dropping from slot 0 (no attention sinks)
 *   NAIVE       one stream, every token kept, positions growing past the context
 * </pre>
 *
 * Speeches are {@code <s> speech </s>}, the training format; predictions of the {@code <s>} that
 * starts a speech are not scored (the model never saw two speeches in one sequence).
 */
final class Perplexity {

    /** How the KV holds a stream longer than the context. */
    record Strategy(String name, int window, int sinks, int slide, boolean shift) {
        static Strategy slide(int window, int sinks, int slide) {
            return new Strategy("slide", window, sinks, slide, true);
        }

        static Strategy noShift(int window, int sinks, int slide) {
            return new Strategy("no-shift", window, sinks, slide, false);
        }

        static Strategy noSinks(int window, int slide) {
            return new Strategy("no-sinks", window, 0, slide, true);
        }

        static Strategy naive() {
            return new Strategy("naive", Integer.MAX_VALUE, 0, 0, false);
        }
    }

    /** Summed negative log-likelihood (nats) over scored tokens. */
    record Result(double nll, int tokens, int evicted) {
        double perplexity() {
            return Math.exp(nll / tokens);
        }

        double nllPerToken() {
            return nll / tokens;
        }
    }

    private final Model model;
    private final KvCache cache;
    private final int bos;

    Perplexity(Model model, KvCache cache) {
        this.model = model;
        this.cache = cache;
        this.bos = model.tokenizer().bos();
    }

    /** The speeches as one stream: {@code <s> speech </s> <s> speech </s> ...}, at least {@code min} tokens. */
    int[] stream(List<String> speeches, int min) {
        List<Integer> out = new ArrayList<>();
        int eos = model.tokenizer().eos()[0];
        for (String s : speeches) {
            out.add(bos);
            for (int t : model.tokenizer().encode(s, false, false)) {
                out.add(t);
            }
            out.add(eos);
            if (out.size() >= min) {
                break;
            }
        }
        return out.stream().mapToInt(Integer::intValue).limit(min).toArray();
    }

    /** The tokens as the engine reads them. */
    static final class Tokens implements SequenceState {
        private final int[] tokens;
        private final SamplingParams sampling;

        Tokens(int[] tokens) {
            this(tokens, SamplingParams.GREEDY);
        }

        Tokens(int[] tokens, SamplingParams sampling) {
            this.tokens = tokens;
            this.sampling = sampling;
        }

        @Override public String requestId() { return "ppl"; }
        @Override public int promptLength() { return tokens.length; }
        @Override public int length() { return tokens.length; }
        @Override public int token(int index) { return tokens[index]; }
        @Override public SamplingParams sampling() { return sampling; }
        @Override public List<LogitsProcessor> logitsProcessors() { return List.of(); }
    }

    /**
     * Each speech of the stream on its own, from position 0 and at most {@code maxLength} tokens:
     * the in-context baseline. Scores what {@link #stream(int[], Strategy, int, KvDType)} scores
     * from {@code scoreFrom} on, so both cover the same text.
     */
    Result inContext(int[] stream, int scoreFrom, int maxLength, KvDType dtype) {
        double nll = 0;
        int n = 0;
        int start = 0;
        while (start < stream.length) {
            int end = start + 1;
            while (end < stream.length && stream[end] != bos) {
                end++;
            }
            int[] speech = java.util.Arrays.copyOfRange(stream, start, Math.min(end, start + maxLength));
            if (end > scoreFrom) {
                Result r = score(speech, Strategy.naive(), Math.max(1, scoreFrom - start), dtype);
                nll += r.nll();
                n += r.tokens();
            }
            start = end;
        }
        return new Result(nll, n, 0);
    }

    /** One pass over the whole stream, scoring predictions of tokens at index {@code scoreFrom} and later. */
    Result stream(int[] stream, Strategy strategy, int scoreFrom, KvDType dtype) {
        return score(stream, strategy, scoreFrom, dtype);
    }

    private Result score(int[] tokens, Strategy st, int scoreFrom, KvDType dtype) {
        Tokens seq = new Tokens(tokens);
        KvSequence kv = cache.open("ppl", new int[0], new KvSequenceOptions(dtype, false, false, 0, ""));
        int b = cache.blockSizeTokens();
        double nll = 0;
        int n = 0;
        int evicted = 0;
        try {
            for (int i = 0; i < tokens.length - 1; i++) {
                int length = kv.length();
                if (length >= st.window()) {
                    int to = Math.min(st.sinks() + st.slide(), length / b * b);
                    if (st.shift() && !model.shiftPositions(kv, to, length, st.sinks() - to)) {
                        throw new IllegalStateException("the model cannot shift positions");
                    }
                    cache.discard(kv, st.sinks(), to);
                    evicted += to - st.sinks();
                }
                if (kv.capacity() < kv.length() + 1 && !cache.allocate(kv, kv.length() + 1 - kv.capacity())) {
                    throw new IllegalStateException("no KV room at token " + i);
                }
                StepResult r = model.step(List.of(new StepEntry(seq, kv, i, 1, false, true, i - evicted)));
                kv.commit(tokens, i, 1);
                int target = tokens[i + 1];
                if (i + 1 >= scoreFrom && target != bos) {
                    nll -= logSoftmax(r.logits(0), target);
                    n++;
                }
            }
        } finally {
            cache.release(kv);
        }
        return new Result(nll, n, evicted);
    }

    static double logSoftmax(float[] logits, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return logits[target] - max - Math.log(sum);
    }

    /**
     * A continuation of a prompt far past the context under a strategy: what a client of
     * context_policy slide receives, to check it does not fall into repetition or garbage. When
     * the model ends a speech ({@code </s>}) the next one starts with {@code <s>}, the training
     * format, so the stream goes on speech after speech.
     */
    int[] generate(int[] prompt, int count, Strategy st, KvDType dtype, SamplingParams sampling) {
        int[] all = java.util.Arrays.copyOf(prompt, prompt.length + count);
        int eos = model.tokenizer().eos()[0];
        KvSequence kv = cache.open("gen", new int[0], new KvSequenceOptions(dtype, false, false, 0, ""));
        int b = cache.blockSizeTokens();
        int evicted = 0;
        try {
            for (int i = 0; i < prompt.length + count - 1; i++) {
                int length = kv.length();
                if (length >= st.window()) {
                    int to = Math.min(st.sinks() + st.slide(), length / b * b);
                    if (st.shift()) {
                        model.shiftPositions(kv, to, length, st.sinks() - to);
                    }
                    cache.discard(kv, st.sinks(), to);
                    evicted += to - st.sinks();
                }
                if (kv.capacity() < kv.length() + 1 && !cache.allocate(kv, kv.length() + 1 - kv.capacity())) {
                    throw new IllegalStateException("no KV room at token " + i);
                }
                boolean sample = i >= prompt.length - 1 && all[i] != eos;
                Tokens seq = new Tokens(java.util.Arrays.copyOf(all, i + 1), sampling.withSeed(sampling.seed() + i));
                StepResult r = model.step(List.of(new StepEntry(seq, kv, i, 1, sample, false, i - evicted)));
                kv.commit(all, i, 1);
                if (sample) {
                    all[i + 1] = r.sample(0).token();
                } else if (i >= prompt.length - 1) {
                    all[i + 1] = bos; // after </s> comes the next speech
                }
            }
        } finally {
            cache.release(kv);
        }
        return java.util.Arrays.copyOfRange(all, prompt.length, all.length);
    }

    /** Share of the words of a text that occur in {@code dictionary} (lower case): near 1 for real words. */
    static double knownWords(String text, java.util.Set<String> dictionary) {
        int all = 0;
        int known = 0;
        for (String w : text.toLowerCase(java.util.Locale.ROOT).split("[^a-z']+")) {
            if (w.length() < 2) {
                continue;
            }
            all++;
            if (dictionary.contains(w)) {
                known++;
            }
        }
        return all == 0 ? 0 : (double) known / all;
    }

    /** The words of some speeches, lower case. */
    static java.util.Set<String> words(List<String> speeches) {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (String s : speeches) {
            for (String w : s.toLowerCase(java.util.Locale.ROOT).split("[^a-z']+")) {
                if (w.length() >= 2) {
                    out.add(w);
                }
            }
        }
        return out;
    }

    /** Share of 4-grams that occur more than once: 0 for none repeated, near 1 for a loop. */
    static double repeated4grams(int[] tokens) {
        java.util.Map<Long, Integer> seen = new java.util.HashMap<>();
        for (int i = 0; i + 4 <= tokens.length; i++) {
            long k = ((long) tokens[i] << 48) ^ ((long) tokens[i + 1] << 32) ^ ((long) tokens[i + 2] << 16) ^ tokens[i + 3];
            seen.merge(k, 1, Integer::sum);
        }
        int all = Math.max(1, tokens.length - 3);
        int repeated = 0;
        for (int c : seen.values()) {
            if (c > 1) {
                repeated += c;
            }
        }
        return (double) repeated / all;
    }
}
