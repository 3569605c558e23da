package org.halyard.telemetry.api;

import java.util.Locale;

/** How a request ended, as the {@code outcome} metric label gives it. */
public enum Outcome {
    /** Answered. */
    OK,
    /** Refused at admission (429, 503, 4xx). */
    REJECTED,
    /** The client cancelled or went away. */
    CANCELLED,
    /** Failed on the server. */
    ERROR,
    /** Stopped by a safety policy or the kill switch. */
    BLOCKED;

    /** The label value: lower case. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
