package org.halyard.engine.api;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where a model's files are.
 *
 * @param name the name the model is served under ({@code model} in OpenAI requests)
 * @param path a GGUF file, or a Hugging Face checkpoint directory ({@code config.json},
 *     {@code *.safetensors} shards, tokenizer files)
 * @param weights for a checkpoint directory, the weights file to load instead of every shard
 *     (for example the EMA snapshot {@code model-ema.safetensors}); null for the default
 * @param overlays safetensors files whose tensors replace tensors of the same name after loading
 *     (for example a versioned router state); applied in order
 * @param options engine-specific options (documented by each engine); unknown keys are ignored
 */
public record ModelSource(String name, Path path, Path weights, List<Path> overlays,
        Map<String, String> options) {

    public ModelSource {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(path, "path");
        overlays = overlays == null ? List.of() : List.copyOf(overlays);
        options = options == null ? Map.of() : Map.copyOf(options);
    }

    /** A model file or directory with defaults. */
    public static ModelSource of(String name, Path path) {
        return new ModelSource(name, path, null, List.of(), Map.of());
    }
}
