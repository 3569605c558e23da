package org.halyard.serving.api;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Runs requests in continuous batches: each step carries decode tokens of running requests and
 * prefill chunks of new ones under a token budget, in priority order; preempts by recompute when
 * KV blocks run out. Serving modes call it after admission.
 */
@ProviderType
public interface Scheduler {

    /**
     * Queues a request.
     *
     * @throws RejectedException NOT_FOUND when no model of that name is served, INVALID when the
     *     prompt plus {@code maxTokens} cannot fit the model's context, OVERLOAD when the
     *     scheduler's own bounds are reached
     */
    GenerationHandle submit(GenerationRequest request, GenerationListener listener) throws RejectedException;

    /** The requests held now, running first. */
    List<RequestStatus> requests();

    /** The load of one class on one model now. */
    SchedulerLoad load(String model, PriorityClass priority);
}
