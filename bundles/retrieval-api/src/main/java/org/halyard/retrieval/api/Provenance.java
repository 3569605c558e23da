package org.halyard.retrieval.api;

import java.time.Instant;
import java.util.Objects;

/**
 * Where a passage came from, precisely enough to audit and to retract it.
 *
 * @param source the retriever's source name (as allow-lists name it)
 * @param documentId the document's id within the source
 * @param uri where the document lives, if it has an address; empty otherwise
 * @param chunk which part of the document (for example {@code 3} or a byte range)
 * @param sha256 hex SHA-256 of the passage text, to detect tampering
 * @param version the index or corpus version the passage was retrieved from
 * @param retrievedAt when
 */
public record Provenance(String source, String documentId, String uri, String chunk, String sha256,
        String version, Instant retrievedAt) {

    public Provenance {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(documentId, "documentId");
        uri = uri == null ? "" : uri;
        chunk = chunk == null ? "" : chunk;
        sha256 = sha256 == null ? "" : sha256;
        version = version == null ? "" : version;
        Objects.requireNonNull(retrievedAt, "retrievedAt");
    }
}
