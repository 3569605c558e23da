package org.halyard.serving.api;

/**
 * How loaded a scheduler is now, for admission decisions.
 *
 * @param priority the class these figures are for
 * @param running requests of the class in the running batch
 * @param waiting requests of the class queued or preempted
 * @param waitingTokens prompt tokens still to prefill for the class's waiting requests
 * @param kvUsedFraction share of the model's hot KV pool in use (0 to 1)
 * @param tokensPerSecond recent throughput of the whole scheduler (prefill plus decode)
 */
public record SchedulerLoad(PriorityClass priority, int running, int waiting, long waitingTokens,
        double kvUsedFraction, double tokensPerSecond) {
}
