package org.halyard.serving.api;

/**
 * Scheduling classes, highest first: a step fills its token budget with interactive work before
 * ultra-long, and with ultra-long before batch; when KV blocks run out the lowest class is
 * preempted first.
 */
public enum PriorityClass {
    /** Chat and completions a person waits for. */
    INTERACTIVE,
    /** Very long prompts, prefilled in chunks between interactive steps. */
    ULTRA_LONG,
    /** Offline work that runs in spare capacity. */
    BATCH;

    /** Whether this class is scheduled before {@code other}. */
    public boolean above(PriorityClass other) {
        return ordinal() < other.ordinal();
    }
}
