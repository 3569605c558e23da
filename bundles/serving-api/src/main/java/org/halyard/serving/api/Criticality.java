package org.halyard.serving.api;

/**
 * How much a request matters when the node is overloaded: sheddable requests are rejected
 * first, critical ones last (as in Google SRE's criticality levels).
 */
public enum Criticality {
    /** Shed last. */
    CRITICAL,
    /** The default. */
    DEFAULT,
    /** Shed first. */
    SHEDDABLE
}
