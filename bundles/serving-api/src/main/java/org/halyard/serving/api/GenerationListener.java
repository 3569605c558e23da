package org.halyard.serving.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives one request's output. Called from the scheduler's thread: implementations hand off
 * anything slow (network writes block; use an executor or non-blocking I/O) and must not throw.
 * Exactly one {@link #onComplete} ends every accepted request.
 */
@ConsumerType
public interface GenerationListener {

    /** A token was generated. */
    void onToken(GeneratedToken token);

    /** The request ended; nothing is called after this. */
    void onComplete(Completion completion);
}
