package org.halyard.rest;

import javax.ws.rs.WebApplicationException;

/** Thrown by resources to answer with an OpenAI-shaped error. */
public class ApiException extends WebApplicationException {

    private static final long serialVersionUID = 1L;

    public ApiException(int status, String message, String param, String code) {
        super(message, ApiError.response(status, message, param, code));
    }

    /** An error with a prepared response (extra headers such as Retry-After). */
    public ApiException(javax.ws.rs.core.Response response, String message) {
        super(message, response);
    }

    public ApiException(int status, String message) {
        this(status, message, null, null);
    }

    /** 400 naming the offending field. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, message, param, "invalid_value");
    }
}
