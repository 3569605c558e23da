package org.halyard.serving.api;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A request was not admitted. {@link Reason} maps to the HTTP status the client sees; the
 * message says what to change (or when to retry).
 */
public class RejectedException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why a request was refused, with its HTTP status. */
    public enum Reason {
        /** The request is malformed or exceeds a limit it could meet: 400. */
        INVALID(400),
        /** No such model or mode: 404. */
        NOT_FOUND(404),
        /** The caller's quota is used up: 429. */
        QUOTA(429),
        /** The node is over capacity: 503. */
        OVERLOAD(503),
        /** A kill switch covers the request, or no model is loaded: 503. */
        UNAVAILABLE(503);

        private final int httpStatus;

        Reason(int httpStatus) {
            this.httpStatus = httpStatus;
        }

        /** The HTTP status to answer with. */
        public int httpStatus() {
            return httpStatus;
        }
    }

    private final Reason reason;
    private final Duration retryAfter;

    public RejectedException(Reason reason, String message, Duration retryAfter) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.retryAfter = retryAfter;
    }

    public RejectedException(Reason reason, String message) {
        this(reason, message, null);
    }

    /** Why. */
    public Reason reason() {
        return reason;
    }

    /** When to retry ({@code Retry-After}), for QUOTA, OVERLOAD and UNAVAILABLE. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}
