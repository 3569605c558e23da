package org.halyard.tool.api;

import org.halyard.core.api.RequestContext;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A tool the model may call. Registered as an OSGi service with the property {@link #NAME}.
 * Arguments arrive already validated against {@link ToolSpec#parametersSchema()}.
 */
@ConsumerType
public interface Tool {

    /** Service property: the tool's name. */
    String NAME = "halyard.tool";

    /** How the model sees the tool. */
    ToolSpec spec();

    /** Runs the call. */
    ToolResult invoke(ToolCall call, RequestContext context) throws ToolException;
}
