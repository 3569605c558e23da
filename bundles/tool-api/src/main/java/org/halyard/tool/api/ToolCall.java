package org.halyard.tool.api;

import java.util.Objects;

/**
 * A call the model asked for.
 *
 * @param id the call's id (OpenAI's {@code tool_call_id})
 * @param name the tool's name
 * @param arguments the arguments as JSON text
 */
public record ToolCall(String id, String name, String arguments) {

    public ToolCall {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        arguments = arguments == null ? "{}" : arguments;
    }
}
