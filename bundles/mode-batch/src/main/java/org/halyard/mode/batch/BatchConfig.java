package org.halyard.mode.batch;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration ({@code etc/org.halyard.mode.batch.cfg}); limits apply live, the data directory on restart. */
@ObjectClassDefinition(name = "Halyard batch mode",
        description = "Storage, limits and retention of the OpenAI Files and Batch APIs")
public @interface BatchConfig {

    @AttributeDefinition(description = "Folder of the batch database and files; empty for ${halyard.data}/batch, "
            + "or ${karaf.data}/halyard/batch when halyard.data is not set. Read when the mode starts")
    String dataDirectory() default "";

    @AttributeDefinition(description = "Batch lines that run at once (the batch sequences in the scheduler)")
    int maxConcurrentLines() default 8;

    @AttributeDefinition(description = "Most requests (lines) in one batch input file")
    int maxLinesPerBatch() default 50_000;

    @AttributeDefinition(description = "Largest uploaded file (bytes); larger uploads get 413")
    long maxFileSizeBytes() default 200L * 1024 * 1024;

    @AttributeDefinition(description = "Hours files, and ended batches with their output, are kept")
    int retention_hours() default 720;

    @AttributeDefinition(description = "How often retention deletes what is older (seconds)")
    int cleanupInterval_seconds() default 3600;

    @AttributeDefinition(description = "Longest completion_window accepted (hours); OpenAI's clients send 24h")
    int maxCompletionWindow_hours() default 168;

    @AttributeDefinition(description = "Longest prompt of a line or batch-mode request (tokens)")
    int maxPromptTokens() default 8192;

    @AttributeDefinition(description = "Largest max_tokens of a line or batch-mode request")
    int maxOutputTokens() default 4096;

    @AttributeDefinition(description = "Synchronous batch-mode requests (\"mode\": \"batch\") that may wait beyond "
            + "maxConcurrentLines; more are refused (503)")
    int maxQueuedRequests() default 64;
}
