package org.halyard.checkpoint.api;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * One stored checkpoint.
 *
 * @param id unique in the repository, for example {@code shakespeare/router@v2}
 * @param model the model family it belongs to
 * @param kind what it holds
 * @param version its version label
 * @param step the training step it was taken at, or -1
 * @param path where it is
 * @param sha256 hex SHA-256 of the file, checked before use
 * @param sizeBytes its size
 * @param metadata facts from the file (EMA decay, training run)
 */
public record Checkpoint(String id, String model, CheckpointKind kind, String version, long step,
        Path path, String sha256, long sizeBytes, Map<String, String> metadata) {

    public Checkpoint {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(path, "path");
        version = version == null ? "" : version;
        sha256 = sha256 == null ? "" : sha256;
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }
}
