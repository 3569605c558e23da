package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A tensor of floats, whatever its encoding, seen as a flat run of {@link #size()} elements.
 * Supports F32, F16, BF16, Q8_0 and Q4_0 over memory-mapped (or heap) little-endian bytes, and
 * F32 over a float array. One final class per encoding; {@link #of} is the one switch that
 * creates them and fails on anything else.
 *
 * <p>Quantised types are read in whole blocks: {@link #dot} offsets and lengths are multiples of
 * the block size (the loaders check that rows are).
 */
public abstract sealed class FloatTensor permits F32Tensor, F16Tensor, BF16Tensor, Q8_0Tensor, Q4_0Tensor, ArrayTensor {

    protected final long size;

    protected FloatTensor(long size) {
        this.size = size;
    }

    /** The one switch from encoding to tensor class. */
    public static FloatTensor of(GGMLType type, ByteBuffer data, long elements) throws FormatException {
        if (elements % type.blockSize() != 0) {
            throw new FormatException(elements + " elements are not a whole number of " + type + " blocks");
        }
        long bytes = type.bytes(elements);
        if (data.remaining() < bytes) {
            throw new FormatException(type + " tensor of " + elements + " elements needs " + bytes
                    + " bytes, " + data.remaining() + " present");
        }
        ByteBuffer le = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        return switch (type) {
            case F32 -> new F32Tensor(le, elements);
            case F16 -> new F16Tensor(le, elements);
            case BF16 -> new BF16Tensor(le, elements);
            case Q8_0 -> new Q8_0Tensor(le, elements);
            case Q4_0 -> new Q4_0Tensor(le, elements);
        };
    }

    /** Elements. */
    public final long size() {
        return size;
    }

    /** The encoding. */
    public abstract GGMLType type();

    /** Bytes the elements take. */
    public long byteSize() {
        return type().bytes(size);
    }

    /** Element {@code index}, decoded. */
    public abstract float getFloat(long index);

    /** {@code Σ this[offset+i] * x[xOff+i]} for {@code i < n}. */
    public abstract float dot(long offset, float[] x, int xOff, int n);

    /** Decodes elements {@code [offset, offset+n)} into {@code dst}. */
    public void copyTo(long offset, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = getFloat(offset + i);
        }
    }

    static int byteIndex(long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("byte offset " + bytes + " past 2 GiB");
        }
        return (int) bytes;
    }
}
