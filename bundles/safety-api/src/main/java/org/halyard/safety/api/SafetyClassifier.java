package org.halyard.safety.api;

import java.util.Set;
import org.halyard.core.api.RequestContext;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Judges content in real time. Each classifier is its own bundle, registered as an OSGi service
 * with the property {@link #NAME}; the safety pipeline calls every classifier registered for a
 * stage and can swap them while serving.
 *
 * <p>Called on request threads, possibly concurrently: be thread safe, fast (the output stage
 * runs while tokens stream) and never throw for odd input; an exception counts as a failure the
 * policy decides on (fail closed by default).
 */
@ConsumerType
public interface SafetyClassifier {

    /** Service property: the classifier's name, unique on the node. */
    String NAME = "halyard.classifier";

    /** The classifier's name, as in {@link #NAME}. */
    String name();

    /** The stages this classifier judges. */
    Set<Stage> stages();

    /** Judges one piece of content. */
    Verdict classify(Content content, RequestContext context);
}
