package org.halyard.tool.api;

import java.util.Objects;

/**
 * A tool as the model sees it (OpenAI's {@code function} object).
 *
 * @param name the tool's name: letters, digits, {@code _} and {@code -}, at most 64
 * @param description what it does, for the model
 * @param parametersSchema JSON Schema of its arguments, as JSON text
 */
public record ToolSpec(String name, String description, String parametersSchema) {

    public ToolSpec {
        Objects.requireNonNull(name, "name");
        if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
            throw new IllegalArgumentException("tool name must be 1-64 letters, digits, '_' or '-': " + name);
        }
        description = description == null ? "" : description;
        parametersSchema = parametersSchema == null ? "{\"type\":\"object\"}" : parametersSchema;
    }
}
