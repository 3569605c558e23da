package org.halyard.checkpoint.api;

/** What a checkpoint holds. */
public enum CheckpointKind {
    /** The model's weights as trained (last step). */
    WEIGHTS,
    /** An exponential-moving-average snapshot of the weights. */
    EMA_WEIGHTS,
    /** Router weights only: a versioned router state laid over the weights. */
    ROUTER,
    /** A retriever's state (index, encoder). */
    RETRIEVER
}
