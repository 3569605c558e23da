package org.halyard.safety.api;

import java.util.Map;
import java.util.Objects;

/**
 * Content to judge.
 *
 * @param stage where it comes from
 * @param text the text
 * @param attributes where it came from: {@code source} and {@code document} for retrieval,
 *     {@code tool} and {@code arguments} for tool calls, {@code role} for chat messages
 */
public record Content(Stage stage, String text, Map<String, String> attributes) {

    public Content {
        Objects.requireNonNull(stage, "stage");
        Objects.requireNonNull(text, "text");
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }

    /** Content without attributes. */
    public static Content of(Stage stage, String text) {
        return new Content(stage, text, Map.of());
    }
}
