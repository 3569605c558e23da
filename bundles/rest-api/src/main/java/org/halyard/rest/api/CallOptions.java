package org.halyard.rest.api;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * How {@link OpenAiEndpoints#call} runs a request, over what its body says.
 *
 * @param mode the serving mode (the body's {@code mode} field is ignored)
 * @param deadline when the request gives up, or null for the mode's default
 * @param attributes request attributes for plugins and telemetry (a batch id); at most a few small
 *     values
 */
public record CallOptions(String mode, Instant deadline, Map<String, String> attributes) {

    public CallOptions {
        Objects.requireNonNull(mode, "mode");
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }
}
