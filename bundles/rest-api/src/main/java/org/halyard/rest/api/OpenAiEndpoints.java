package org.halyard.rest.api;

import java.util.Set;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The OpenAI generation endpoints without HTTP: a request body is validated, tokenized and run
 * exactly as {@code POST <endpoint>} would run it, and the answer is the status and JSON body
 * that endpoint would send. Streaming is not offered ({@code "stream": true} is answered with
 * 400). The batch mode runs its lines through it, so a line's output is byte for byte the shape
 * of the synchronous endpoint's.
 */
@ProviderType
public interface OpenAiEndpoints {

    /** Path of the completions endpoint. */
    String COMPLETIONS = "/v1/completions";

    /** Path of the chat completions endpoint. */
    String CHAT_COMPLETIONS = "/v1/chat/completions";

    /** The endpoints {@link #call} accepts. */
    Set<String> endpoints();

    /**
     * Starts one request. Never throws for anything the body holds: validation errors, unknown
     * models, admission refusals and failed generations all complete the call with the error
     * status and body the endpoint would answer.
     *
     * @param endpoint one of {@link #endpoints()}
     * @param body the JSON request body
     * @param caller on whose behalf (tenant, quota)
     * @param options serving mode, deadline and attributes, which take precedence over the body's
     * @throws IllegalArgumentException for an endpoint not in {@link #endpoints()}
     */
    EndpointCall call(String endpoint, String body, Caller caller, CallOptions options);
}
