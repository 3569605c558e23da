package org.halyard.kvcache.impl.block;

import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;

/**
 * The shape of one block: {@code tokens} tokens of a model's keys and values. Keys and values of
 * one (layer, head) sit together, token after token, so attention over a block for one head reads
 * one contiguous run:
 *
 * <pre>
 *   K (and V, the same):  [layer][kvHead][token][headDim]
 *   row(layer, head, t) = ((layer * kvHeads + head) * tokens + t) * headDim
 *
 *   serialised (off-heap, disk), little-endian:
 *     F32:  K f32[sideValues] | V f32[sideValues]
 *     F16:  K f16[sideValues] | V f16[sideValues]
 *     INT8: K i8[sideValues]  | V i8[sideValues] | kScale f32[layers*kvHeads] | vScale f32[layers*kvHeads]
 * </pre>
 *
 * @param layers transformer layers
 * @param kvHeads key/value heads per layer
 * @param headDim values per head
 * @param tokens tokens per block
 */
public record BlockShape(int layers, int kvHeads, int headDim, int tokens) {

    public BlockShape {
        if (layers <= 0 || kvHeads <= 0 || headDim <= 0 || tokens <= 0) {
            throw new IllegalArgumentException("block shape must be positive: " + layers + "x" + kvHeads + "x"
                    + headDim + "x" + tokens);
        }
        if ((long) layers * kvHeads * headDim * tokens > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("block too large: " + layers + " layers x " + kvHeads + " heads x "
                    + headDim + " x " + tokens + " tokens; use fewer tokens per block");
        }
    }

    /** The shape of a model's blocks. */
    public static BlockShape of(KvLayout layout, int tokens) {
        return new BlockShape(layout.layers(), layout.kvHeads(), layout.headDim(), tokens);
    }

    /** Values on one side (keys, or values) of a block. */
    public int sideValues() {
        return layers * kvHeads * tokens * headDim;
    }

    /** Index of the first value of token {@code t}'s row of one head in one side's array. */
    public int row(int layer, int head, int t) {
        return ((layer * kvHeads + head) * tokens + t) * headDim;
    }

    /** (layer, head) pairs: one INT8 scale each, per side. */
    public int heads() {
        return layers * kvHeads;
    }

    /** Values one token stores in one layer on one side ({@code kvHeads * headDim}). */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Bytes of a sealed block of a type: what it holds in any tier. */
    public long bytes(KvDType dtype) {
        return switch (dtype) {
            case F32 -> 2L * sideValues() * 4;
            case F16 -> 2L * sideValues() * 2;
            case INT8 -> 2L * sideValues() + 2L * heads() * 4;
        };
    }

    /** Bytes of a block of a type while it is being written (INT8 blocks are staged as F32). */
    public long openBytes(KvDType dtype) {
        return dtype == KvDType.INT8 ? bytes(KvDType.F32) : bytes(dtype);
    }
}
