package org.halyard.checkpoint.api;

import java.util.Objects;

/**
 * Which checkpoints make up a deployment.
 *
 * @param weights the weights checkpoint's id (raw or EMA)
 * @param router a router state's id laid over the weights, or null for the weights' own router
 * @param retriever a retriever state's id, or null for none
 */
public record CheckpointSelection(String weights, String router, String retriever) {

    public CheckpointSelection {
        Objects.requireNonNull(weights, "weights");
    }
}
