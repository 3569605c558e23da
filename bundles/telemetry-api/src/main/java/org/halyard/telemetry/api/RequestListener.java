package org.halyard.telemetry.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives every finished request: an exporter (JSON log, OTLP spans). Registered as an OSGi
 * service; the telemetry bundle calls every listener on its own executor, never on a request
 * thread, so a slow or failing exporter cannot delay serving.
 */
@ConsumerType
public interface RequestListener {

    /** Service property: the exporter's name. */
    String NAME = "halyard.exporter";

    /** A request finished. Must not throw; failures are the exporter's to count and log. */
    void onRequest(RequestRecord record);
}
