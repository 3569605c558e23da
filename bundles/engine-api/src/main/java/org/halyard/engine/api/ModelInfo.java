package org.halyard.engine.api;

import java.util.Map;
import java.util.Objects;

/**
 * What a loaded model is.
 *
 * @param name the served name
 * @param version identifies the loaded weights exactly (a digest of the files and overlays);
 *     KV Cache++ keys its prefix cache by it
 * @param architecture for example {@code llama}
 * @param format {@code gguf} or {@code safetensors}
 * @param weightType the predominant tensor type, for example {@code F32} or {@code Q8_0}
 * @param contextLength the context the model was built for (from its metadata)
 * @param vocabSize tokens in the vocabulary (rows of the output head)
 * @param layers transformer blocks
 * @param embeddingDim model width
 * @param heads query heads
 * @param kvHeads key/value heads
 * @param headDim values per head
 * @param experts experts per mixture-of-experts layer, 0 for a dense model
 * @param expertsUsed experts each token is routed to, 0 for a dense model
 * @param parameters number of weights
 * @param sizeBytes bytes of weights in memory (mapped or not)
 * @param metadata further facts from the file (license, training step, EMA decay, router
 *     version); small strings only
 */
public record ModelInfo(String name, String version, String architecture, String format,
        String weightType, int contextLength, int vocabSize, int layers, int embeddingDim,
        int heads, int kvHeads, int headDim, int experts, int expertsUsed, long parameters,
        long sizeBytes, Map<String, String> metadata) {

    public ModelInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(version, "version");
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }

    /** Whether the feed-forward layers are a mixture of experts. */
    public boolean isMixtureOfExperts() {
        return experts > 0;
    }
}
