package org.halyard.safety.api;

import java.time.Instant;
import java.util.Objects;

/**
 * An engaged kill switch.
 *
 * @param scope what it covers
 * @param reason why, as the operator or automation gave it
 * @param actor who engaged it (an operator, or the automation rule's name)
 * @param since when
 * @param incidentId the incident opened for it
 */
public record Kill(KillScope scope, String reason, String actor, Instant since, String incidentId) {

    public Kill {
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(since, "since");
        reason = reason == null ? "" : reason;
        actor = actor == null ? "" : actor;
        incidentId = incidentId == null ? "" : incidentId;
    }
}
