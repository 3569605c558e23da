package org.halyard.checkpoint.api;

import java.util.List;
import java.util.Optional;
import org.halyard.engine.api.ModelSource;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The checkpoints a node can deploy. Deployments ask it for a {@link ModelSource} and load that
 * on an engine; swapping a router version is a new selection on the same weights.
 */
@ProviderType
public interface CheckpointRepository {

    /** Every checkpoint, or those of one model family when {@code model} is not null. */
    List<Checkpoint> list(String model);

    /** One checkpoint by id. */
    Optional<Checkpoint> find(String id);

    /**
     * Recomputes a checkpoint's digest and compares it with the recorded one.
     *
     * @throws CheckpointException when it is missing or does not match
     */
    Checkpoint verify(String id) throws CheckpointException;

    /**
     * Verifies the selected checkpoints and composes them into a source to load.
     *
     * @param name the name to serve the model under
     * @throws CheckpointException when one is missing, corrupt, or they do not fit together
     */
    ModelSource resolve(String name, CheckpointSelection selection) throws CheckpointException;
}
