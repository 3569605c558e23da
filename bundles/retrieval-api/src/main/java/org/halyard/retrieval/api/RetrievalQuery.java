package org.halyard.retrieval.api;

import java.util.Map;
import java.util.Objects;
import org.halyard.core.api.RequestContext;

/**
 * A query.
 *
 * @param text what to look for
 * @param topK the most passages to return
 * @param filters source-specific filters (for example {@code lang=en})
 * @param context who asks
 */
public record RetrievalQuery(String text, int topK, Map<String, String> filters, RequestContext context) {

    public RetrievalQuery {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(context, "context");
        if (topK < 1) {
            throw new IllegalArgumentException("topK must be at least 1: " + topK);
        }
        filters = filters == null ? Map.of() : Map.copyOf(filters);
    }
}
