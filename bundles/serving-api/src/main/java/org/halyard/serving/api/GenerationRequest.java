package org.halyard.serving.api;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.SamplingParams;

/**
 * One generation to run: a tokenized prompt and how to continue it. Immutable; build with
 * {@link #builder(String, String, int[])}.
 */
public final class GenerationRequest {

    private final String requestId;
    private final String model;
    private final String mode;
    private final String tenant;
    private final PriorityClass priority;
    private final Criticality criticality;
    private final Quota quota;
    private final int[] prompt;
    private final int maxTokens;
    private final SamplingParams sampling;
    private final List<String> stop;
    private final boolean ignoreEos;
    private final Instant deadline;
    private final List<LogitsProcessor> logitsProcessors;
    private final Map<String, String> attributes;
    private final ContextPolicy context;
    private final KvPolicy kv;

    private GenerationRequest(Builder b) {
        this.requestId = Objects.requireNonNull(b.requestId, "requestId");
        this.model = Objects.requireNonNull(b.model, "model");
        this.mode = b.mode;
        this.tenant = b.tenant;
        this.priority = b.priority;
        this.criticality = b.criticality;
        this.quota = b.quota;
        this.prompt = b.prompt.clone();
        if (b.maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1: " + b.maxTokens);
        }
        this.maxTokens = b.maxTokens;
        this.sampling = b.sampling;
        this.stop = List.copyOf(b.stop);
        this.ignoreEos = b.ignoreEos;
        this.deadline = b.deadline;
        this.logitsProcessors = List.copyOf(b.logitsProcessors);
        this.attributes = Map.copyOf(b.attributes);
        this.context = b.context;
        this.kv = b.kv;
    }

    /** A builder for a request on {@code model} with the given prompt tokens. */
    public static Builder builder(String requestId, String model, int[] prompt) {
        return new Builder(requestId, model, prompt);
    }

    /** A builder holding this request's values. */
    public Builder toBuilder() {
        return new Builder(requestId, model, prompt).mode(mode).tenant(tenant).priority(priority)
                .criticality(criticality).quota(quota).maxTokens(maxTokens).sampling(sampling).stop(stop)
                .ignoreEos(ignoreEos).deadline(deadline).logitsProcessors(logitsProcessors)
                .attributes(attributes).context(context).kv(kv);
    }

    /** The request's id, unique on this node. */
    public String requestId() { return requestId; }

    /** The served model's name. */
    public String model() { return model; }

    /** The serving mode's name. */
    public String mode() { return mode; }

    /** Who asked (the API key's name), see {@link org.halyard.core.api.RequestContext#tenant()}. */
    public String tenant() { return tenant; }

    /** Its scheduling class. */
    public PriorityClass priority() { return priority; }

    /** How early it is shed under overload. */
    public Criticality criticality() { return criticality; }

    /** The caller's quota, which the serving mode enforces; {@link Quota#UNLIMITED} by default. */
    public Quota quota() { return quota; }

    /** A copy of the prompt's token ids. */
    public int[] prompt() { return prompt.clone(); }

    /** Number of prompt tokens. */
    public int promptLength() { return prompt.length; }

    /** The prompt token at {@code i}. */
    public int promptToken(int i) { return prompt[i]; }

    /** The most tokens to generate. */
    public int maxTokens() { return maxTokens; }

    /** How to sample. */
    public SamplingParams sampling() { return sampling; }

    /** Texts that end the output when generated (not included in it). */
    public List<String> stop() { return stop; }

    /** Whether to keep generating past EOS (vLLM's {@code ignore_eos}, for benchmarks). */
    public boolean ignoreEos() { return ignoreEos; }

    /** When the request gives up, or null for never. */
    public Instant deadline() { return deadline; }

    /** Processors applied to this request's logits, in order (masks, constrained decoding). */
    public List<LogitsProcessor> logitsProcessors() { return logitsProcessors; }

    /** Further small facts (response format, client labels) for plugins. */
    public Map<String, String> attributes() { return attributes; }

    /**
     * What to do when the prompt plus {@code maxTokens} exceeds the model's context; null until
     * someone chose (the request, its API key, else its serving mode), and REJECT for the
     * scheduler when nobody did.
     */
    public ContextPolicy context() { return context; }

    /** How its keys and values are stored, as its serving mode chose; null for the scheduler's defaults. */
    public KvPolicy kv() { return kv; }

    @Override
    public String toString() {
        return "GenerationRequest[" + requestId + " model=" + model + " mode=" + mode + " prompt="
                + prompt.length + " tokens, maxTokens=" + maxTokens + "]";
    }

    /** Builds a {@link GenerationRequest}. */
    public static final class Builder {
        private final String requestId;
        private final String model;
        private final int[] prompt;
        private String mode = "interactive";
        private String tenant = "anonymous";
        private PriorityClass priority = PriorityClass.INTERACTIVE;
        private Criticality criticality = Criticality.DEFAULT;
        private Quota quota = Quota.UNLIMITED;
        private int maxTokens = 16;
        private SamplingParams sampling = SamplingParams.GREEDY;
        private List<String> stop = List.of();
        private boolean ignoreEos;
        private Instant deadline;
        private List<LogitsProcessor> logitsProcessors = List.of();
        private Map<String, String> attributes = Map.of();
        private ContextPolicy context;
        private KvPolicy kv;

        private Builder(String requestId, String model, int[] prompt) {
            this.requestId = requestId;
            this.model = model;
            this.prompt = Objects.requireNonNull(prompt, "prompt").clone();
        }

        public Builder mode(String v) { this.mode = Objects.requireNonNull(v); return this; }
        public Builder tenant(String v) { this.tenant = Objects.requireNonNull(v); return this; }
        public Builder priority(PriorityClass v) { this.priority = Objects.requireNonNull(v); return this; }
        public Builder criticality(Criticality v) { this.criticality = Objects.requireNonNull(v); return this; }
        public Builder quota(Quota v) { this.quota = Objects.requireNonNull(v); return this; }
        public Builder maxTokens(int v) { this.maxTokens = v; return this; }
        public Builder sampling(SamplingParams v) { this.sampling = Objects.requireNonNull(v); return this; }
        public Builder stop(List<String> v) { this.stop = List.copyOf(v); return this; }
        public Builder ignoreEos(boolean v) { this.ignoreEos = v; return this; }
        public Builder deadline(Instant v) { this.deadline = v; return this; }
        public Builder logitsProcessors(List<LogitsProcessor> v) { this.logitsProcessors = List.copyOf(v); return this; }
        public Builder attributes(Map<String, String> v) { this.attributes = Map.copyOf(v); return this; }
        /** The context policy, or null to leave the choice to the API key or the serving mode. */
        public Builder context(ContextPolicy v) { this.context = v; return this; }
        /** The KV storage, or null for the scheduler's defaults. */
        public Builder kv(KvPolicy v) { this.kv = v; return this; }

        /** The request; throws IllegalArgumentException on values out of range. */
        public GenerationRequest build() {
            return new GenerationRequest(this);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationRequest r && r.requestId.equals(requestId)
                && Arrays.equals(r.prompt, prompt) && r.model.equals(model);
    }

    @Override
    public int hashCode() {
        return requestId.hashCode();
    }
}
