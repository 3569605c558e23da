package org.halyard.engine.api;

import java.util.List;
import java.util.Optional;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A loaded model. Published as an OSGi service (by the deployment that loaded it) with the
 * properties {@link #NAME} and {@link #VERSION}.
 *
 * <p>A model holds nothing but memory: it needs no closing, and once the last reference is
 * dropped its weights are freed. So a request that started on a model finishes on it even after
 * the service is unregistered or its engine is replaced.
 *
 * <p>Thread safety: {@link #step} may be called by one thread at a time per model (the
 * scheduler's loop); the engine parallelises inside a step. Everything else may be called from
 * any thread.
 */
@ProviderType
public interface Model {

    /** Service property: the served name ({@code model} in OpenAI requests). */
    String NAME = "halyard.model";

    /** Service property: {@link ModelInfo#version()}. */
    String VERSION = "halyard.model.version";

    /** What this model is. */
    ModelInfo info();

    /** Its tokenizer. */
    Tokenizer tokenizer();

    /** Its chat template (Jinja), if the files carry one. */
    Optional<String> chatTemplate();

    /** The keys and values it stores per token, for creating its KV cache. */
    KvLayout kvLayout();

    /**
     * Runs one batched forward step: every entry's slice of tokens goes through the model
     * together, each weight matrix read once for all of them; keys and values are written into
     * each entry's KV sequence; for entries that ask, the next token is sampled.
     *
     * <p>The engine does not commit the KV slots it wrote: the caller commits them once the step
     * has returned.
     *
     * @throws IllegalArgumentException when an entry does not fit the model (token id out of the
     *     vocabulary, position past what the KV sequence holds)
     * @throws org.halyard.kvcache.api.KvSequenceInvalidException when a sequence's blocks were
     *     dropped during the step
     */
    StepResult step(List<StepEntry> entries);

    /**
     * Re-encodes the keys stored in slots {@code [from, to)} of a sequence as if their tokens
     * stood {@code delta} positions later (earlier when negative), before a sliding window moves
     * them with {@link org.halyard.kvcache.api.KvCache#discard}: for rotary position embeddings
     * (RoPE) this rotates each stored key by {@code delta} positions, as llama.cpp's K-shift
     * does, so that attention sees the relative distances of the slots as they will be. Values
     * carry no position and are left as they are. Call it between steps.
     *
     * @return false, changing nothing, when this model cannot re-encode positions (its keys do not
     *     encode them by rotation); the caller then cannot slide its window
     */
    default boolean shiftPositions(KvSequence kv, int from, int to, int delta) {
        return false;
    }
}
