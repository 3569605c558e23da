package org.halyard.tool.api;

import java.util.List;
import org.halyard.core.api.RequestContext;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The tools as the serving layer sees them: filtered by allow-list, guarded by the kill switch
 * and the safety pipeline's tool stage.
 */
@ProviderType
public interface ToolRegistry {

    /** The tools this request may use. */
    List<ToolSpec> available(RequestContext context);

    /**
     * Validates and runs a call.
     *
     * @throws ToolException when the tool is not allowed, not present, killed, its arguments do
     *     not match its schema, or safety blocks the call
     */
    ToolResult invoke(ToolCall call, RequestContext context) throws ToolException;
}
