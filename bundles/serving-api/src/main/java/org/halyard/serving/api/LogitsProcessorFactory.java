package org.halyard.serving.api;

import java.util.Optional;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.Model;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Creates a request's logits processor (a safety token mask, constrained decoding for a
 * {@code response_format}). Registered as an OSGi service; the serving layer asks every factory,
 * in service ranking order, when it admits a request.
 */
@ConsumerType
public interface LogitsProcessorFactory {

    /** Service property: the factory's name, for logs and allow-lists. */
    String NAME = "halyard.logits.processor";

    /**
     * A processor for this request on this model, or empty when it does not apply.
     *
     * @throws RejectedException INVALID when the request asks for something the factory cannot
     *     honour (a malformed JSON schema)
     */
    Optional<LogitsProcessor> create(GenerationRequest request, Model model) throws RejectedException;
}
