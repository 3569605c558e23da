package org.halyard.serving.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A serving mode (interactive, batch, ultra-long, or a plugin's own): its admission policy,
 * limits and priority class. Registered as an OSGi service with the property {@link #MODE}; the
 * REST API routes each request to the mode it names.
 */
@ConsumerType
public interface ServingMode {

    /** Service property: the mode's name as requests give it. */
    String MODE = "halyard.mode";

    /** The mode's name, as in {@link #MODE}. */
    String name();

    /** The scheduling class of this mode's requests. */
    PriorityClass priority();

    /** The limits in force now (configuration changes apply live). */
    ModeLimits limits();

    /**
     * The context policy of this mode's requests when neither the request nor its API key names
     * one (the REST API checks the context up front only under REJECT).
     */
    default ContextPolicy contextPolicy() {
        return ContextPolicy.REJECT;
    }

    /**
     * Admits and submits a request: checks the kill switch, limits, the caller's quota and the
     * queue bounds, then hands it to the scheduler with this mode's priority.
     *
     * @throws RejectedException when not admitted; nothing was queued
     */
    GenerationHandle submit(GenerationRequest request, GenerationListener listener) throws RejectedException;
}
