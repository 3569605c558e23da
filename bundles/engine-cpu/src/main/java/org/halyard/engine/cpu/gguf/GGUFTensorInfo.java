package org.halyard.engine.cpu.gguf;

import java.util.Arrays;
import org.halyard.engine.cpu.tensor.GGMLType;

/**
 * One entry of a GGUF tensor table.
 *
 * @param name the tensor's name, for example {@code blk.0.attn_q.weight}
 * @param dims GGML order: {@code dims[0]} is the innermost (contiguous) dimension, so a weight
 *     matrix {@code W[rows][cols]} has {@code dims = {cols, rows}}
 * @param type the encoding
 * @param offset byte offset of the data from the start of the data section
 */
public record GGUFTensorInfo(String name, long[] dims, GGMLType type, long offset) {

    public GGUFTensorInfo {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Dimensions (GGML order). */
    public int rank() {
        return dims.length;
    }

    /** Size of dimension {@code i}, 1 past the rank. */
    public long dim(int i) {
        return i < dims.length ? dims[i] : 1;
    }

    /** Elements. */
    public long elements() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes of data. */
    public long bytes() {
        return type.bytes(elements());
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims) + " @" + offset;
    }
}
