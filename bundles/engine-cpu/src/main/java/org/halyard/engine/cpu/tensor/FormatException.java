package org.halyard.engine.cpu.tensor;

import java.io.IOException;

/**
 * A model file (GGUF, safetensors, config.json, tokenizer.json) is malformed, truncated, hostile
 * or of a kind this engine does not support. The message names the file and the problem.
 */
public class FormatException extends IOException {

    private static final long serialVersionUID = 1L;

    public FormatException(String message) {
        super(message);
    }

    public FormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
