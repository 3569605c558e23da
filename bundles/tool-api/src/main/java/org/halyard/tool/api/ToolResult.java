package org.halyard.tool.api;

import java.util.Objects;

/**
 * What a call returned.
 *
 * @param callId the call's id
 * @param content the result text given back to the model
 * @param error whether the call failed (the content then says why)
 */
public record ToolResult(String callId, String content, boolean error) {

    public ToolResult {
        Objects.requireNonNull(callId, "callId");
        Objects.requireNonNull(content, "content");
    }
}
