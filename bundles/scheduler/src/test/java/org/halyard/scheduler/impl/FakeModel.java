package org.halyard.scheduler.impl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.function.IntPredicate;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelInfo;
import org.halyard.engine.api.SampledToken;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.engine.api.TokenLogprob;
import org.halyard.engine.api.Tokenizer;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;

/**
 * A model whose next token is a deterministic function of the keys and values in its KV
 * sequence (here: the tokens the fake cache stores per slot). The scheduler must therefore feed
 * every token exactly once into the right slot, across chunks, preemptions and cache drops, or
 * the text changes.
 */
final class FakeModel implements Model {

    /** One step as the model saw it. */
    record Step(List<String> ids, List<Integer> counts, int tokens) {
    }

    final String name;
    final int context;
    final FakeTokenizer tokenizer = new FakeTokenizer();
    final List<Step> steps = new CopyOnWriteArrayList<>();
    /** Output length (1-based) at which EOS is produced; 0 for never. */
    volatile int eosAt;
    volatile long stepDelayMillis;
    /** Steps wait for a permit when set. */
    volatile Semaphore gate;
    /** The step throws when a fed sequence holds a token matching this. */
    volatile IntPredicate poison = t -> false;
    /** Emits these bytes in order instead of the rule (when non-null). */
    volatile byte[] script;
    /** Whether {@link #shiftPositions} works (a RoPE model) or refuses (it cannot slide). */
    volatile boolean shiftable = true;
    /** Every shift: {from, to, delta}. */
    final List<int[]> shifts = new CopyOnWriteArrayList<>();

    FakeModel(String name, int context) {
        this.name = name;
        this.context = context;
    }

    /** The rule: a letter from a weighted sum of everything before. */
    static int next(int[] seq, int len) {
        long h = 7;
        for (int i = 0; i < len; i++) {
            h = h * 31 + seq[i];
        }
        return FakeTokenizer.tokenOf('a' + (int) Math.floorMod(h, 26));
    }

    /** What the model outputs greedily for a prompt (no EOS). */
    static int[] reference(int[] prompt, int n) {
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + n);
        for (int i = 0; i < n; i++) {
            seq[prompt.length + i] = next(seq, prompt.length + i);
        }
        return java.util.Arrays.copyOfRange(seq, prompt.length, prompt.length + n);
    }

    @Override
    public ModelInfo info() {
        return new ModelInfo(name, "v-" + name, "fake", "none", "F32", context, FakeTokenizer.VOCAB, 1, 8, 1, 1, 8,
                0, 0, 1, 1, Map.of());
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public Optional<String> chatTemplate() {
        return Optional.empty();
    }

    @Override
    public KvLayout kvLayout() {
        return new KvLayout(1, 1, 8);
    }

    /**
     * What the model outputs greedily when its window slides as the scheduler slides it: before
     * a token is fed into a full window, {@code slide} slots after the {@code sinks} go.
     */
    static int[] slidingReference(int[] prompt, int n, int window, int sinks, int slide) {
        List<Integer> slots = new ArrayList<>();
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + n);
        for (int i = 0; i < prompt.length + n - 1; i++) {
            if (slots.size() >= window) {
                slots.subList(sinks, sinks + slide).clear();
            }
            slots.add(seq[i]);
            if (i >= prompt.length - 1) {
                int[] seen = slots.stream().mapToInt(Integer::intValue).toArray();
                seq[i + 1] = next(seen, seen.length);
            }
        }
        return java.util.Arrays.copyOfRange(seq, prompt.length, prompt.length + n);
    }

    @Override
    public boolean shiftPositions(KvSequence kv, int from, int to, int delta) {
        if (!shiftable) {
            return false;
        }
        if (from < 0 || to > kv.length() || from > to) {
            throw new IndexOutOfBoundsException("[" + from + ", " + to + ") of " + kv.length());
        }
        shifts.add(new int[] {from, to, delta});
        return true;
    }

    @Override
    public StepResult step(List<StepEntry> entries) {
        Semaphore g = gate;
        if (g != null) {
            g.acquireUninterruptibly();
        }
        if (stepDelayMillis > 0) {
            try {
                Thread.sleep(stepDelayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<String> ids = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        int tokens = 0;
        for (StepEntry e : entries) {
            ids.add(e.sequence().requestId());
            counts.add(e.count());
            tokens += e.count();
            for (int i = 0; i < e.sequence().length(); i++) {
                if (poison.test(e.sequence().token(i))) {
                    throw new IllegalStateException("poisoned sequence " + e.sequence().requestId());
                }
            }
        }
        steps.add(new Step(ids, counts, tokens));
        SampledToken[] samples = new SampledToken[entries.size()];
        for (int k = 0; k < entries.size(); k++) {
            StepEntry e = entries.get(k);
            FakeKvCache.Seq kv = (FakeKvCache.Seq) e.kv();
            if (kv.length() != e.slot()) {
                throw new IllegalArgumentException("entry starts at slot " + e.slot() + " but KV holds " + kv.length());
            }
            for (int t = e.start(); t < e.start() + e.count(); t++) {
                kv.put(e.slot() + t - e.start(), e.sequence().token(t));
            }
            if (e.sample()) {
                int end = e.slot() + e.count();
                int[] seen = new int[end];
                for (int t = 0; t < end; t++) {
                    seen[t] = kv.get(t);
                }
                int out = e.sequence().outputLength();
                int tok;
                byte[] sc = script;
                if (eosAt > 0 && out + 1 >= eosAt) {
                    tok = FakeTokenizer.EOS;
                } else if (sc != null) {
                    tok = out < sc.length ? FakeTokenizer.tokenOf(sc[out]) : FakeTokenizer.EOS;
                } else {
                    tok = next(seen, end);
                }
                List<TokenLogprob> top = new ArrayList<>();
                for (int i = 0; i < e.sequence().sampling().topLogprobs(); i++) {
                    top.add(new TokenLogprob(i == 0 ? tok : 3 + i, -0.25f * (i + 1)));
                }
                samples[k] = new SampledToken(tok, -0.25f, top);
            }
        }
        return new StepResult(samples, new float[entries.size()][], List.of(), 1000);
    }
}
