package org.halyard.rest.api;

import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/** One request started through {@link OpenAiEndpoints#call}. */
@ProviderType
public interface EndpointCall {

    /**
     * Completes with the endpoint's answer, never exceptionally. Completes on a scheduler thread:
     * hand slow work (file writes) to an executor of your own.
     */
    CompletionStage<EndpointResponse> response();

    /**
     * Cancels the request: its generations leave the batch at the next engine step and the
     * response completes with 503 and code {@code cancelled}. Idempotent.
     */
    void cancel();
}
