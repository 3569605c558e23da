package org.halyard.mode.batch;

/**
 * An uploaded or produced file, as the {@code files} table holds it (its bytes are the blob
 * {@code files/<id>} under the data directory).
 *
 * @param id {@code file-...}
 * @param tenant the owner (API key name)
 * @param purpose {@code batch} (uploads), {@code batch_output} (output and error files)
 * @param filename the name the client gave, or the one Halyard chose
 * @param bytes size
 * @param createdAt epoch seconds; retention deletes it {@code retention.hours} later
 */
record FileRecord(String id, String tenant, String purpose, String filename, long bytes, long createdAt) {

    static final String PURPOSE_BATCH = "batch";
    static final String PURPOSE_OUTPUT = "batch_output";
}
