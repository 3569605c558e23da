package org.halyard.safety.api;

/** Where in a request content is checked. */
public enum Stage {
    /** The prompt or chat messages, before anything runs. */
    INPUT,
    /** Passages a retriever returned, before they enter the prompt. */
    RETRIEVAL,
    /** The generated text, while it streams and at the end. */
    OUTPUT,
    /** A tool call the model asks for, and the tool's result. */
    TOOL
}
