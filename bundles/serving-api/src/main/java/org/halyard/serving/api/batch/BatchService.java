package org.halyard.serving.api.batch;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/** The batch jobs of this node, for operators. Implemented by the batch mode. */
@ProviderType
public interface BatchService {

    /** Batches of every tenant, newest first, at most {@code limit}. */
    List<BatchInfo> list(int limit);

    /** One batch. */
    Optional<BatchInfo> get(String batchId);

    /**
     * Cancels a batch: lines in flight are stopped, lines not run are answered in the error file
     * with {@code batch_cancelled}, and the output so far is kept.
     *
     * @return the batch, {@code cancelling} or already {@code cancelled}
     * @throws NoSuchElementException when there is no such batch
     * @throws IllegalStateException when the batch has already ended
     */
    BatchInfo cancel(String batchId);
}
