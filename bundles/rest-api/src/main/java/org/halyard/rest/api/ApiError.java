package org.halyard.rest.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;

/**
 * The OpenAI error shape: {@code {"error": {"message", "type", "param", "code"}}}. Every error
 * Halyard answers has this body, with a message that says what to change.
 */
public final class ApiError {

    /** The error object. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Body(String message, String type, String param, String code) {
    }

    /** The envelope. */
    public record Envelope(Body error) {
    }

    private ApiError() {
    }

    /** OpenAI's error type for an HTTP status. */
    public static String type(int status) {
        return switch (status) {
            case 400, 404, 405, 409, 413, 415, 422 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 429 -> "rate_limit_exceeded";
            case 503 -> "service_unavailable";
            default -> status >= 500 ? "server_error" : "invalid_request_error";
        };
    }

    /** A response with this status and an OpenAI-shaped body. */
    public static Response response(int status, String message, String param, String code) {
        return Response.status(status).type(MediaType.APPLICATION_JSON_TYPE)
                .entity(new Envelope(new Body(message, type(status), param, code))).build();
    }

    /** A response with this status and message. */
    public static Response response(int status, String message) {
        return response(status, message, null, null);
    }
}
