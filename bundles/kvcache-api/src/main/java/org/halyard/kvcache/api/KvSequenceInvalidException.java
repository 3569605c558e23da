package org.halyard.kvcache.api;

/**
 * Thrown by a {@link KvSequence} whose blocks were dropped ({@link KvCache#drop()}, a failed
 * check, the cache bundle going away). The owner releases it and rebuilds by re-prefill.
 */
public class KvSequenceInvalidException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    public KvSequenceInvalidException(String message) {
        super(message);
    }
}
