package org.halyard.safety.api;

import java.util.Optional;
import org.halyard.core.api.RequestContext;
import org.halyard.engine.api.Tokenizer;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Supplies a token mask for a request (banned words, tenant policies). Registered as an OSGi
 * service; masks are computed per model vocabulary and may be cached by the provider.
 */
@ConsumerType
public interface TokenMaskProvider {

    /** A mask for this request on a model with this tokenizer, or empty. */
    Optional<TokenMask> mask(RequestContext context, Tokenizer tokenizer);
}
