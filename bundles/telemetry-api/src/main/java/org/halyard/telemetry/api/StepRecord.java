package org.halyard.telemetry.api;

import java.util.List;
import java.util.Objects;

/**
 * One engine step.
 *
 * @param model the model
 * @param sequences sequences in the step
 * @param prefillTokens prompt tokens fed
 * @param decodeTokens decode tokens fed
 * @param nanos the step's wall time
 * @param routing per MoE layer, what its router did; empty for dense models
 */
public record StepRecord(String model, int sequences, int prefillTokens, int decodeTokens, long nanos,
        List<RouterLoad> routing) {

    public StepRecord {
        Objects.requireNonNull(model, "model");
        routing = routing == null ? List.of() : List.copyOf(routing);
    }
}
