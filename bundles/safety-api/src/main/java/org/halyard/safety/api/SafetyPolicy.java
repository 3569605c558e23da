package org.halyard.safety.api;

import java.util.List;
import org.halyard.core.api.RequestContext;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Turns verdicts into a decision: thresholds per category, per tenant and stage. Registered as an
 * OSGi service with the property {@link #NAME}; the highest-ranked policy is in force, so a new
 * policy bundle takes over live and removing it rolls back to the previous one.
 */
@ConsumerType
public interface SafetyPolicy {

    /** Service property: the policy's name. */
    String NAME = "halyard.policy";

    /** The policy's name and version, as recorded in decisions. */
    String name();

    /**
     * Decides. {@code failures} names the classifiers that threw or timed out, so the policy
     * chooses whether to fail open or closed.
     */
    Decision decide(Content content, List<Verdict> verdicts, List<String> failures, RequestContext context);
}
