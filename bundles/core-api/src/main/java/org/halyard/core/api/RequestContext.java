package org.halyard.core.api;

import java.util.Map;
import java.util.Objects;

/**
 * Who asked for what: the context a plugin (classifier, retriever, tool, exporter) is called in.
 *
 * @param requestId the request's id, unique on this node (also the id the client sees)
 * @param tenant the caller's identity: the API key's name, never the key itself;
 *     {@code "anonymous"} where access is open
 * @param mode the serving mode's name, for example {@code interactive}
 * @param model the served model's name
 * @param attributes further small facts (client IP class, API key's labels); never secrets
 */
public record RequestContext(String requestId, String tenant, String mode, String model,
        Map<String, String> attributes) {

    /** The tenant name used when access is open. */
    public static final String ANONYMOUS = "anonymous";

    public RequestContext {
        Objects.requireNonNull(requestId, "requestId");
        tenant = tenant == null ? ANONYMOUS : tenant;
        mode = mode == null ? "" : mode;
        model = model == null ? "" : model;
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }

    /** A context with only a request id, for calls outside any tenant (tests, the shell). */
    public static RequestContext of(String requestId) {
        return new RequestContext(requestId, ANONYMOUS, "", "", Map.of());
    }
}
