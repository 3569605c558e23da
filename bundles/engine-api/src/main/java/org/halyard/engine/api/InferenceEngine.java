package org.halyard.engine.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * An inference backend (the pure-Java CPU engine; a CUDA engine later). Registered as an OSGi
 * service with the property {@link #ENGINE}; model deployments choose one by a target filter such
 * as {@code (halyard.engine=cpu)}.
 */
@ProviderType
public interface InferenceEngine {

    /** Service property: the engine's name, for example {@code cpu}. */
    String ENGINE = "halyard.engine";

    /** The engine's name, as in {@link #ENGINE}. */
    String name();

    /**
     * Loads a model. Weights are mapped rather than copied where the format allows. On failure
     * nothing stays loaded.
     *
     * @throws ModelLoadException when the files are missing, malformed or of an unsupported kind;
     *     the message names the file and the problem
     */
    Model load(ModelSource source) throws ModelLoadException;
}
