package org.halyard.safety.api;

import org.halyard.core.api.RequestContext;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The safety pipeline: runs the classifiers registered for the content's stage and the policy in
 * force. Serving modes, retrieval and tools call it; plugins do not implement it.
 */
@ProviderType
public interface SafetyService {

    /** Judges content and decides; never throws for odd content. */
    Decision check(Content content, RequestContext context);
}
