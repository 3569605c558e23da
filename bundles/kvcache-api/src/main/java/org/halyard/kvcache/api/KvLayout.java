package org.halyard.kvcache.api;

/**
 * The shape of the keys and values a model stores per token.
 *
 * <pre>
 *   per token, per layer:  K[kvHeads][headDim]   V[kvHeads][headDim]
 * </pre>
 *
 * @param layers transformer layers
 * @param kvHeads key/value heads per layer (grouped-query attention shares each among several
 *     query heads)
 * @param headDim values per head
 */
public record KvLayout(int layers, int kvHeads, int headDim) {

    public KvLayout {
        if (layers <= 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("layers, kvHeads and headDim must be positive: "
                    + layers + ", " + kvHeads + ", " + headDim);
        }
    }

    /** Values (keys plus values) one token stores across all layers. */
    public long valuesPerToken() {
        return 2L * layers * kvHeads * headDim;
    }

    /** Values in one layer's key (or value) vector of one token: {@code kvHeads * headDim}. */
    public int kvDim() {
        return kvHeads * headDim;
    }
}
