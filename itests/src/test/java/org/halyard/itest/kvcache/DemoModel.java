package org.halyard.itest.kvcache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelSource;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.SequenceState;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.engine.cpu.ModelLoader;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.halyard.kvcache.api.KvSequenceOptions;

/**
 * The demo model on the CPU engine outside OSGi, its reference outputs, and greedy generation
 * driven the way a scheduler drives it: open a KV sequence (maybe with a cached prefix), prefill
 * the rest in chunks, decode one token a step with {@code allocate} before and {@code commit}
 * after each step, and rebuild by re-prefill from the token history when the sequence was dropped.
 */
final class DemoModel {

    static final int EOS = 2;

    final Model model;
    final JsonNode reference;
    /** Called after every decode step (tests watch the cache with it); null for nothing. */
    Runnable afterStep;

    DemoModel() throws Exception {
        Path dir = root().resolve("models/halyard-shakespeare-moe");
        this.model = ModelLoader.load(ModelSource.of("demo", dir.resolve("halyard-shakespeare-moe-f32.gguf")),
                Parallel.SERIAL);
        this.reference = new ObjectMapper().readTree(dir.resolve("reference-outputs.json").toFile());
    }

    static Path root() {
        String r = System.getProperty("halyard.root");
        Path p = r != null && !r.isBlank() ? Path.of(r) : Path.of("").toAbsolutePath();
        while (p != null && !p.resolve("models/halyard-shakespeare-moe").toFile().isDirectory()) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository root (set -Dhalyard.root)");
        }
        return p;
    }

    int cases() {
        return reference.get("cases").size();
    }

    int[] prompt(int c) {
        return ints(reference.get("cases").get(c).get("prompt_ids"));
    }

    /** The reference greedy continuation (raw weights), ending with EOS when the model emitted it. */
    int[] greedy(int c) {
        return ints(reference.get("cases").get(c).get("greedy_raw"));
    }

    float[] lastLogits(int c) {
        JsonNode a = reference.get("cases").get(c).get("last_logits_raw");
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) a.get(i).asDouble();
        }
        return f;
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asInt();
        }
        return r;
    }

    /** A request's tokens as the engine reads them. */
    static final class Request implements SequenceState {
        private final List<Integer> tokens = new ArrayList<>();
        private final int promptLength;

        Request(int[] prompt) {
            for (int t : prompt) {
                tokens.add(t);
            }
            promptLength = prompt.length;
        }

        void append(int token) {
            tokens.add(token);
        }

        int[] all() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }

        int[] output() {
            return tokens.subList(promptLength, tokens.size()).stream().mapToInt(Integer::intValue).toArray();
        }

        @Override
        public String requestId() {
            return "itest";
        }

        @Override
        public int promptLength() {
            return promptLength;
        }

        @Override
        public int length() {
            return tokens.size();
        }

        @Override
        public int token(int index) {
            return tokens.get(index);
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

    /**
     * What a generation produced.
     *
     * @param tokens the continuation, with the EOS when the model emitted one
     * @param cachedPrefix prompt tokens served from the prefix cache at the start
     * @param rebuilds times the sequence was dropped and rebuilt by re-prefill
     */
    record Generation(int[] tokens, int cachedPrefix, int rebuilds) {
    }

    /**
     * Feeds the request's tokens from {@code kv.length()} in chunks, allocating before each as a
     * scheduler does (so an offloading sequence moves its sealed blocks out as it goes); returns
     * the token sampled after the last.
     */
    int prefill(KvCache cache, KvSequence kv, Request r, int chunk) {
        int n = r.length();
        int[] all = r.all();
        int next = -1;
        for (int start = kv.length(); start < n; start += chunk) {
            int count = Math.min(chunk, n - start);
            boolean last = start + count == n;
            if (start + count > kv.capacity() && !cache.allocate(kv, start + count - kv.capacity())) {
                throw new IllegalStateException("no room for " + (start + count) + " tokens");
            }
            StepResult result = model.step(List.of(new StepEntry(r, kv, start, count, last, false)));
            kv.commit(all, start, count);
            if (last) {
                next = result.sample(0).token();
            }
        }
        return next;
    }

    /**
     * Greedy generation of up to {@code max} tokens (stopping after EOS); when {@code dropAt} &gt; 0
     * the whole cache is dropped after that many output tokens, between {@code allocate} and the
     * step, so the engine meets the invalid sequence and the generation rebuilds.
     */
    Generation generate(KvCache cache, int[] prompt, int max, KvSequenceOptions options, int dropAt) {
        Request r = new Request(prompt);
        KvSequence kv = cache.open("itest", prompt, options);
        int cachedPrefix = kv.cachedPrefixLength();
        int rebuilds = 0;
        try {
            int next = prefill(cache, kv, r, 16);
            while (true) {
                r.append(next);
                if (next == EOS || r.length() - prompt.length >= max) {
                    return new Generation(r.output(), cachedPrefix, rebuilds);
                }
                try {
                    if (!cache.allocate(kv, r.length() - kv.capacity())) {
                        throw new IllegalStateException("no room to decode");
                    }
                    if (r.length() - prompt.length == dropAt) {
                        cache.drop();
                    }
                    StepResult result = model.step(List.of(StepEntry.sampling(r, kv, r.length() - 1, 1)));
                    kv.commit(new int[] {next}, 0, 1);
                    next = result.sample(0).token();
                    if (afterStep != null) {
                        afterStep.run();
                    }
                } catch (KvSequenceInvalidException dropped) {
                    // what a scheduler does: give the old sequence back, re-prefill the history
                    cache.release(kv);
                    rebuilds++;
                    kv = cache.open("itest", r.all(), options);
                    next = prefill(cache, kv, r, 16);
                }
            }
        } finally {
            cache.release(kv);
        }
    }
}
