package org.halyard.engine.cpu.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
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
 * Prefill and decode throughput of a model, the way llama-bench measures them: {@code batch}
 * sequences of {@code promptTokens} seeded random tokens are prefilled in one step (logits of
 * each sequence's last token only), then decoded greedily for {@code genTokens} steps of one
 * token per sequence (logits every step). Rates are aggregate over the batch:
 *
 * <pre>
 *   prefill_tokens_per_s = batch * promptTokens / prefill time
 *   decode_tokens_per_s  = batch * genTokens    / decode time
 * </pre>
 *
 * Sequences are opened without prompt tokens, so KV Cache++'s prefix cache never serves one
 * repetition from another.
 */
final class Bench {

    /** One repetition's timings. */
    record Run(long prefillNanos, long decodeNanos) {
    }

    private final Model model;
    private final KvCache cache;
    private final int promptTokens;
    private final int genTokens;
    private final int batch;
    private final SplittableRandom random;

    Bench(Model model, KvCache cache, int promptTokens, int genTokens, int batch, long seed) {
        if (promptTokens < 1 || genTokens < 1 || batch < 1) {
            throw new IllegalArgumentException("--prompt-tokens, --gen-tokens and --batch must be at least 1");
        }
        this.model = model;
        this.cache = cache;
        this.promptTokens = promptTokens;
        this.genTokens = genTokens;
        this.batch = batch;
        this.random = new SplittableRandom(seed);
    }

    /** Runs one repetition of {@code prompt} and {@code gen} tokens per sequence. */
    Run run(int prompt, int gen) {
        int vocab = model.info().vocabSize();
        List<BenchSequence> seqs = new ArrayList<>(batch);
        List<KvSequence> kvs = new ArrayList<>(batch);
        try {
            for (int b = 0; b < batch; b++) {
                int[] tokens = new int[prompt + gen + 1];
                for (int i = 0; i < prompt; i++) {
                    tokens[i] = random.nextInt(vocab);
                }
                seqs.add(new BenchSequence(tokens, prompt));
                KvSequence kv = cache.open("bench-" + b, new int[0], KvSequenceOptions.of(KvDType.F32));
                kvs.add(kv);
                if (!cache.allocate(kv, prompt + gen)) {
                    throw new IllegalStateException("the KV cache cannot hold " + batch + " x " + (prompt + gen)
                            + " tokens");
                }
            }
            List<StepEntry> entries = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                entries.add(new StepEntry(seqs.get(b), kvs.get(b), 0, prompt, true, false));
            }
            long t0 = System.nanoTime();
            StepResult r = model.step(entries);
            long t1 = System.nanoTime();
            commit(seqs, kvs, 0, prompt, r);
            // gen steps of one token per sequence (llama-bench's tg: each step computes logits)
            for (int g = 0; g < gen; g++) {
                entries.clear();
                for (int b = 0; b < batch; b++) {
                    entries.add(StepEntry.sampling(seqs.get(b), kvs.get(b), prompt + g, 1));
                }
                r = model.step(entries);
                commit(seqs, kvs, prompt + g, 1, r);
            }
            return new Run(t1 - t0, System.nanoTime() - t1);
        } finally {
            for (KvSequence kv : kvs) {
                cache.release(kv);
            }
        }
    }

    /** Commits what a step fed and appends each sequence's greedy token. */
    private static void commit(List<BenchSequence> seqs, List<KvSequence> kvs, int start, int count, StepResult r) {
        for (int b = 0; b < seqs.size(); b++) {
            BenchSequence s = seqs.get(b);
            kvs.get(b).commit(s.tokens, start, count);
            s.append(r.sample(b).none() ? 0 : r.sample(b).token());
        }
    }

    /** Measured repetitions after one warm-up run. */
    List<Run> measure(int repetitions) {
        run(Math.min(promptTokens, 32), Math.min(genTokens, 8)); // warm-up: JIT, page cache, workspace
        run(promptTokens, genTokens);                            // warm-up at full size
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < repetitions; i++) {
            runs.add(run(promptTokens, genTokens));
        }
        return runs;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    double prefillRate(Run r) {
        return batch * (double) promptTokens / (r.prefillNanos() / 1e9);
    }

    double decodeRate(Run r) {
        return batch * (double) genTokens / (r.decodeNanos() / 1e9);
    }

    /** A greedy request over a fixed token array (prompt then generated tokens). */
    private static final class BenchSequence implements SequenceState {
        private final int[] tokens;
        private final int promptLength;
        private int length;

        BenchSequence(int[] tokens, int promptLength) {
            this.tokens = tokens;
            this.promptLength = promptLength;
            this.length = promptLength;
        }

        void append(int token) {
            if (length < tokens.length) {
                tokens[length++] = token;
            }
        }

        @Override
        public String requestId() {
            return "bench";
        }

        @Override
        public int promptLength() {
            return promptLength;
        }

        @Override
        public int length() {
            return length;
        }

        @Override
        public int token(int index) {
            return tokens[index];
        }

        @Override
        public SamplingParams sampling() {
            return SamplingParams.GREEDY;
        }

        @Override
        public List<LogitsProcessor> logitsProcessors() {
            return List.of();
        }
    }
}
