package org.halyard.serving.api;

import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/** A submitted request. */
@ProviderType
public interface GenerationHandle {

    /** The request's id. */
    String requestId();

    /**
     * Cancels the request (the client went away): it leaves the batch at the next step and its
     * KV blocks are freed; the listener gets {@link FinishReason#CANCELLED}. Idempotent.
     */
    void cancel();

    /** Completes with the same {@link Completion} the listener receives. */
    CompletionStage<Completion> completion();
}
