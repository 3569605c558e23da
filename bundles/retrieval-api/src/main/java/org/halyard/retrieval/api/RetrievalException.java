package org.halyard.retrieval.api;

/** A retriever could not answer (index missing, source down). */
public class RetrievalException extends Exception {

    private static final long serialVersionUID = 1L;

    public RetrievalException(String message) {
        super(message);
    }

    public RetrievalException(String message, Throwable cause) {
        super(message, cause);
    }
}
