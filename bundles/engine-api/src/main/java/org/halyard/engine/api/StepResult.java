package org.halyard.engine.api;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What one {@link Model#step} produced, entry by entry in the order of the step's entries.
 */
public final class StepResult {

    private final SampledToken[] samples;
    private final float[][] logits;
    private final List<LayerRouting> routing;
    private final long nanos;

    /**
     * @param samples per entry, the chosen token, or null where the entry did not sample
     * @param logits per entry, the raw logits at its last position, or null where not asked for
     * @param routing per MoE layer, what its router did over the whole step; empty for dense models
     * @param nanos wall time of the step
     */
    public StepResult(SampledToken[] samples, float[][] logits, List<LayerRouting> routing, long nanos) {
        Objects.requireNonNull(samples, "samples");
        Objects.requireNonNull(logits, "logits");
        if (samples.length != logits.length) {
            throw new IllegalArgumentException("samples and logits differ in length");
        }
        this.samples = samples.clone();
        this.logits = logits.clone();
        this.routing = List.copyOf(routing);
        this.nanos = nanos;
    }

    /** Entries in the step. */
    public int size() {
        return samples.length;
    }

    /** The token chosen for entry {@code i}, or null when it did not sample. */
    public SampledToken sample(int i) {
        return samples[i];
    }

    /** A copy of entry {@code i}'s logits, or null when not asked for. */
    public float[] logits(int i) {
        return logits[i] == null ? null : logits[i].clone();
    }

    /** Per MoE layer, what its router did in this step. */
    public List<LayerRouting> routing() {
        return routing;
    }

    /** Wall time of the step in nanoseconds. */
    public long nanos() {
        return nanos;
    }

    @Override
    public String toString() {
        return "StepResult" + Arrays.toString(samples) + " in " + nanos / 1000 + " us";
    }
}
