package org.halyard.retrieval.api;

import java.util.Objects;

/**
 * A retrieved piece of text.
 *
 * @param text the text
 * @param score the retriever's relevance score (higher is better; comparable within one source)
 * @param provenance where it came from
 */
public record Passage(String text, double score, Provenance provenance) {

    public Passage {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(provenance, "provenance");
    }
}
