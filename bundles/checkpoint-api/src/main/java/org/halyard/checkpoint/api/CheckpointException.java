package org.halyard.checkpoint.api;

/** A checkpoint is missing, corrupt (digest mismatch) or incompatible. */
public class CheckpointException extends Exception {

    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
