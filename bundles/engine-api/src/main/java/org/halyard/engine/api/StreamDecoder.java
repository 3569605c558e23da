package org.halyard.engine.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Incremental detokenization for streaming: bytes of a character split across tokens are held
 * back until the character is complete. One per stream; not thread safe.
 */
@ProviderType
public interface StreamDecoder {

    /** Adds a token and returns the text that became complete (possibly empty). */
    String next(int token);

    /** Returns what is still held back (incomplete bytes become U+FFFD) and resets. */
    String flush();
}
