package org.halyard.engine.api;

/** A model could not be loaded; the message names the file and what is wrong with it. */
public class ModelLoadException extends Exception {

    private static final long serialVersionUID = 1L;

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
