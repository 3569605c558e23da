package org.halyard.engine.cpu.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.SampledToken;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.SequenceState;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StreamDecoder;
import org.halyard.engine.api.Tokenizer;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;

/**
 * One generation outside a scheduler: prefill the prompt in chunks, then decode one token a step
 * until an end-of-sequence token, a stop sequence or the token limit, streaming the continuation
 * (never half a character, never the beginning of a stop sequence that may still complete).
 * Keys and values live in a {@link KvCache} sequence, committed after each step as a scheduler
 * would.
 */
public final class Generator {

    /** Why generation ended. */
    public enum Finish { EOS, STOP, LENGTH, NO_TOKEN }

    /**
     * What a generation produced.
     *
     * @param tokens the continuation's tokens (without an ending EOS)
     * @param text the continuation's text, as streamed
     */
    public record Result(int[] tokens, String text, Finish finish, int promptTokens, long prefillNanos,
            long decodeNanos) {
    }

    private final Model model;
    private final KvCache cache;
    private final int chunkTokens;

    public Generator(Model model, KvCache cache, int chunkTokens) {
        this.model = model;
        this.cache = cache;
        this.chunkTokens = Math.max(1, chunkTokens);
    }

    public Result generate(int[] prompt, SamplingParams params, int maxTokens, List<String> stops, Consumer<String> out) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens (the model adds no BOS: give some text)");
        }
        Tokenizer tok = model.tokenizer();
        Sequence seq = new Sequence(prompt, params);
        KvSequence kv = cache.open("cli", prompt, KvSequenceOptions.of(KvDType.F32));
        try {
            if (!cache.allocate(kv, prompt.length + maxTokens - kv.capacity())) {
                throw new IllegalStateException("the KV cache cannot hold " + (prompt.length + maxTokens) + " tokens");
            }
            long t0 = System.nanoTime();
            // prefill [cached, prompt) in chunks; the last chunk samples the first token
            SampledToken next = null;
            for (int start = kv.length(); start < prompt.length; start += chunkTokens) {
                int count = Math.min(chunkTokens, prompt.length - start);
                boolean last = start + count == prompt.length;
                var r = model.step(List.of(new StepEntry(seq, kv, start, count, last, false)));
                kv.commit(prompt, start, count);
                next = r.sample(0);
            }
            long t1 = System.nanoTime();
            Streamer streamer = new Streamer(tok, prompt, stops, out);
            Finish finish = Finish.LENGTH;
            int[] eos = tok.eos();
            while (seq.outputLength() < maxTokens) {
                if (next.none()) {
                    finish = Finish.NO_TOKEN;
                    break;
                }
                int token = next.token();
                if (Arrays.stream(eos).anyMatch(e -> e == token)) {
                    finish = Finish.EOS;
                    break;
                }
                seq.append(token);
                if (streamer.add(token)) {
                    finish = Finish.STOP;
                    break;
                }
                if (seq.outputLength() >= maxTokens) {
                    break;
                }
                int pos = seq.length() - 1;
                var r = model.step(List.of(StepEntry.sampling(seq, kv, pos, 1)));
                kv.commit(new int[] {token}, 0, 1);
                next = r.sample(0);
            }
            streamer.finish(finish != Finish.STOP);
            return new Result(seq.output(), streamer.text(), finish, prompt.length, t1 - t0, System.nanoTime() - t1);
        } finally {
            cache.release(kv);
        }
    }

    /**
     * Turns tokens into the continuation's text: {@code decode(prompt + output)} after
     * {@code decode(prompt)}, released when the stream decoder says a character is complete and
     * no stop sequence can be starting at what is held back.
     */
    static final class Streamer {
        private final Tokenizer tok;
        private final List<Integer> all = new ArrayList<>();
        private final int prefix;
        private final List<String> stops;
        private final Consumer<String> out;
        private final StreamDecoder chars;
        private final StringBuilder emitted = new StringBuilder();
        private String text = "";

        Streamer(Tokenizer tok, int[] prompt, List<String> stops, Consumer<String> out) {
            this.tok = tok;
            for (int t : prompt) {
                all.add(t);
            }
            this.prefix = tok.decode(prompt, true).length();
            this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
            this.out = out;
            this.chars = tok.streamDecoder(true);
        }

        /** Adds a token; returns true when a stop sequence completed. */
        boolean add(int token) {
            all.add(token);
            if (chars.next(token).isEmpty()) {
                return false; // inside a character (or a control token): nothing new to show
            }
            String full = tok.decode(all.stream().mapToInt(Integer::intValue).toArray(), true);
            text = full.length() >= prefix ? full.substring(prefix) : full;
            for (String s : stops) {
                int at = text.indexOf(s);
                if (at >= 0) {
                    text = text.substring(0, at);
                    release(text.length());
                    return true;
                }
            }
            release(text.length() - heldForStops());
            return false;
        }

        /** Characters at the end of the text that could be the start of a stop sequence. */
        private int heldForStops() {
            int hold = 0;
            for (String s : stops) {
                for (int k = Math.min(s.length() - 1, text.length()); k > hold; k--) {
                    if (text.endsWith(s.substring(0, k))) {
                        hold = k;
                        break;
                    }
                }
            }
            return hold;
        }

        private void release(int upTo) {
            if (upTo > emitted.length()) {
                String piece = text.substring(emitted.length(), upTo);
                emitted.append(piece);
                out.accept(piece);
            }
        }

        void finish(boolean flush) {
            if (flush) {
                String full = tok.decode(all.stream().mapToInt(Integer::intValue).toArray(), true);
                text = full.length() >= prefix ? full.substring(prefix) : full;
            }
            release(text.length());
        }

        String text() {
            return emitted.toString();
        }
    }

    /** The request as the engine sees it. */
    private static final class Sequence implements SequenceState {
        private int[] tokens;
        private int length;
        private final int promptLength;
        private final SamplingParams params;

        Sequence(int[] prompt, SamplingParams params) {
            this.tokens = Arrays.copyOf(prompt, prompt.length + 64);
            this.length = prompt.length;
            this.promptLength = prompt.length;
            this.params = params;
        }

        void append(int token) {
            if (length == tokens.length) {
                tokens = Arrays.copyOf(tokens, tokens.length * 2);
            }
            tokens[length++] = token;
        }

        int[] output() {
            return Arrays.copyOfRange(tokens, promptLength, length);
        }

        @Override
        public String requestId() {
            return "cli";
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
            return params;
        }

        @Override
        public List<LogitsProcessor> logitsProcessors() {
            return List.of();
        }
    }
}
