package org.halyard.telemetry.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Where the serving layer reports what happened. Cheap and non-blocking: it updates metrics in
 * place and queues records for the listeners.
 */
@ProviderType
public interface Telemetry {

    /** A request finished (answered, rejected, cancelled, failed or blocked). */
    void record(RequestRecord record);

    /** An engine step ran. */
    void step(StepRecord record);
}
