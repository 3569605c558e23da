package org.halyard.rest.api;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What an endpoint answered.
 *
 * @param status the HTTP status
 * @param body the JSON body: the endpoint's object on success, {@code {"error": {...}}} otherwise
 * @param retryAfter for 429 and 503 refusals, when to try again; null otherwise
 * @param code the error's {@code code} ({@code overloaded}, {@code cancelled},
 *     {@code deadline_exceeded}, ...); null on success
 */
public record EndpointResponse(int status, String body, Duration retryAfter, String code) {

    public EndpointResponse {
        Objects.requireNonNull(body, "body");
    }

    /** Whether the endpoint answered 2xx. */
    public boolean ok() {
        return status >= 200 && status < 300;
    }

    /** When to retry a refusal. */
    public Optional<Duration> retry() {
        return Optional.ofNullable(retryAfter);
    }
}
