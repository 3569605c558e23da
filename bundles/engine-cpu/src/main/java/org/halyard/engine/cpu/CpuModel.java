package org.halyard.engine.cpu;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.halyard.engine.api.LayerRouting;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelInfo;
import org.halyard.engine.api.SampledToken;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.engine.api.Tokenizer;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.model.Batch;
import org.halyard.engine.cpu.model.Llama;
import org.halyard.engine.cpu.model.RopeShift;
import org.halyard.engine.cpu.model.Workspace;
import org.halyard.engine.cpu.sample.Sampler;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;

/**
 * A model loaded by the CPU engine: weights read from its files, a tokenizer, and the scratch
 * memory of its steps. Holds only memory; keeps working after the engine that loaded it is gone
 * (its steps then run on the caller's thread).
 */
final class CpuModel implements Model {

    private final ModelInfo info;
    private final Tokenizer tokenizer;
    private final Optional<String> chatTemplate;
    private final Llama llama;
    private final Parallel parallel;
    private final KvLayout layout;
    // step state: one step at a time
    private final Batch batch = new Batch();
    private final Workspace workspace = new Workspace();
    private final Sampler sampler;
    private final float[] sampleLogits;

    CpuModel(ModelInfo info, Tokenizer tokenizer, Optional<String> chatTemplate, Llama llama, Parallel parallel) {
        this.info = info;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.llama = llama;
        this.parallel = parallel;
        this.layout = new KvLayout(llama.config().layers(), llama.config().kvHeads(), llama.config().headDim());
        this.sampler = new Sampler(llama.config().vocabSize());
        this.sampleLogits = new float[llama.config().vocabSize()];
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public Optional<String> chatTemplate() {
        return chatTemplate;
    }

    @Override
    public KvLayout kvLayout() {
        return layout;
    }

    /** The forward pass (for tools and tests in this bundle). */
    Llama llama() {
        return llama;
    }

    @Override
    public synchronized StepResult step(List<StepEntry> entries) {
        long t0 = System.nanoTime();
        int n = entries.size();
        int vocab = llama.config().vocabSize();
        int[] logitRow = new int[n];
        batch.clear();
        try {
            Map<KvSequence, Boolean> seen = new IdentityHashMap<>();
            for (int e = 0; e < n; e++) {
                StepEntry entry = entries.get(e);
                KvSequence kv = entry.kv();
                if (seen.put(kv, Boolean.TRUE) != null) {
                    throw new IllegalArgumentException("entry " + e + ": the KV sequence " + kv.id()
                            + " appears twice in one step");
                }
                if (!kv.valid()) {
                    throw new org.halyard.kvcache.api.KvSequenceInvalidException("KV sequence " + kv.id()
                            + " was dropped");
                }
                if (kv.length() != entry.slot()) {
                    throw new IllegalArgumentException("entry " + e + ": feeding from slot " + entry.slot()
                            + " but the KV sequence " + kv.id() + " holds " + kv.length() + " tokens");
                }
                if (entry.slot() + entry.count() > kv.capacity()) {
                    throw new IllegalArgumentException("entry " + e + ": positions up to " + (entry.slot() + entry.count())
                            + " do not fit the KV sequence's capacity of " + kv.capacity());
                }
                int seq = batch.addSequence(kv);
                int last = -1;
                for (int i = entry.start(); i < entry.start() + entry.count(); i++) {
                    int token = entry.sequence().token(i);
                    if (token < 0 || token >= vocab) {
                        throw new IllegalArgumentException("entry " + e + ": token " + token + " at position " + i
                                + " is not in the vocabulary of " + vocab);
                    }
                    // a token's position is its KV slot (below its index once a window slid)
                    last = batch.addToken(seq, token, entry.slot() + i - entry.start());
                }
                logitRow[e] = entry.sample() || entry.returnLogits() ? batch.wantLogits(last) : -1;
            }
            List<LayerRouting> routing = new ArrayList<>(llama.config().moe() ? llama.config().layers() : 0);
            llama.forward(batch, workspace, parallel, routing);

            SampledToken[] samples = new SampledToken[n];
            float[][] logits = new float[n][];
            float[] all = workspace.logits();
            for (int e = 0; e < n; e++) {
                StepEntry entry = entries.get(e);
                if (logitRow[e] < 0) {
                    continue;
                }
                int off = logitRow[e] * vocab;
                if (entry.returnLogits()) {
                    logits[e] = java.util.Arrays.copyOfRange(all, off, off + vocab);
                }
                if (entry.sample()) {
                    System.arraycopy(all, off, sampleLogits, 0, vocab);
                    samples[e] = sampler.sample(entry.sequence(), sampleLogits);
                }
            }
            return new StepResult(samples, logits, routing, System.nanoTime() - t0);
        } finally {
            batch.release();
        }
    }

    /**
     * Rotates the keys of slots {@code [from, to)} by {@code delta} positions ({@link RopeShift}):
     * every Llama-family model encodes positions by RoPE only, so it always can.
     */
    @Override
    public boolean shiftPositions(KvSequence kv, int from, int to, int delta) {
        if (from < 0 || from > to || to > kv.length()) {
            throw new IndexOutOfBoundsException("slots [" + from + ", " + to + ") are not committed slots of "
                    + kv.id() + " (length " + kv.length() + ")");
        }
        if (delta != 0 && from < to) {
            kv.rewriteKeys(from, to, new RopeShift(llama.config(), delta));
        }
        return true;
    }

    @Override
    public String toString() {
        return "CpuModel[" + info.name() + " " + info.architecture() + " " + info.weightType() + "]";
    }
}
