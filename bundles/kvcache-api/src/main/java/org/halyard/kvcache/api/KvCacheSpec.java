package org.halyard.kvcache.api;

import java.util.Objects;

/**
 * What a {@link KvCache} is created for.
 *
 * @param name the cache's name in stats and the shell, usually the served model's name
 * @param modelVersion identifies the weights exactly (for example a digest of the model file and
 *     its overlays). It is part of every prefix hash, so KV computed by one model version is
 *     never served to another
 * @param layout keys and values per token
 * @param defaultDType the block type of sequences that do not ask for another
 * @param capacityBytes memory the cache may hold in its hot tier; 0 means the manager's
 *     configured default
 */
public record KvCacheSpec(String name, String modelVersion, KvLayout layout, KvDType defaultDType,
        long capacityBytes) {

    public KvCacheSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(modelVersion, "modelVersion");
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(defaultDType, "defaultDType");
        if (capacityBytes < 0) {
            throw new IllegalArgumentException("capacityBytes must not be negative: " + capacityBytes);
        }
    }
}
