package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.halyard.engine.cpu.kernel.Kernels;

/**
 * A tensor of floats, whatever its encoding: {@link #rows()} rows of {@link #cols()} elements
 * (a vector is one row; the outer dimensions of a 3-D tensor of stacked experts are rows too).
 * Supports F32, F16, BF16, Q8_0 and Q4_0. One final class per encoding; {@link #of} is the one
 * switch that creates them and fails on anything else.
 *
 * <p>The data lives in a Java array (float[] for F32, short[] for F16/BF16, byte[] of quantised
 * blocks): the Java 17 Vector API loads from arrays with hoisted bounds checks, while every load
 * from a mapped {@code ByteBuffer} re-checks the buffer, which halves the speed of the matrix
 * kernels. Nothing is ever dequantised into memory: each weight takes the bytes it takes in the
 * file. When there are whole panels of {@link Kernels#PANEL} rows the elements are stored in
 * panels ({@link #packed()}), the layout of the outer-product kernels:
 *
 * <pre>
 *   row-major (file):  row r = [ w(r,0) w(r,1) ... w(r,cols-1) ]
 *   packed:            panel p = rows 16p..16p+15, column by column:
 *                      [ w(16p,0) w(16p+1,0) ... w(16p+15,0) | w(16p,1) ... | ... ]
 *                      Q8_0/Q4_0: per panel and 32-column block, the 16 rows' scales, then
 *                      the 32 columns' values of the 16 rows (see Q8_0Tensor, Q4_0Tensor)
 * </pre>
 */
public abstract sealed class FloatTensor permits F32Tensor, F16Tensor, BF16Tensor, Q8_0Tensor, Q4_0Tensor {

    protected final long size;
    protected final int cols;
    protected final int rows;
    protected final boolean packed;

    protected FloatTensor(long size, int cols, boolean packed) {
        this.size = size;
        this.cols = cols;
        this.rows = (int) (size / cols);
        this.packed = packed;
    }

    /**
     * The one switch from encoding to tensor class: copies {@code elements} elements, rows of
     * {@code cols}, from the little-endian {@code data} (a mapping of the file, dropped by the
     * caller afterwards), packing them into panels when the rows allow.
     */
    public static FloatTensor of(GGMLType type, ByteBuffer data, long elements, long cols) throws FormatException {
        if (elements % type.blockSize() != 0) {
            throw new FormatException(elements + " elements are not a whole number of " + type + " blocks");
        }
        if (cols <= 0 || elements % cols != 0 || cols % type.blockSize() != 0) {
            throw new FormatException(type + " rows of " + cols + " elements do not divide " + elements
                    + " elements into whole rows of whole blocks");
        }
        long bytes = type.bytes(elements);
        if (data.remaining() < bytes) {
            throw new FormatException(type + " tensor of " + elements + " elements needs " + bytes
                    + " bytes, " + data.remaining() + " present");
        }
        if (elements > Integer.MAX_VALUE - 8 || bytes > Integer.MAX_VALUE - 8) {
            throw new FormatException(type + " tensor of " + elements + " elements (" + bytes
                    + " bytes) is larger than one Java array");
        }
        ByteBuffer le = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        int c = (int) cols;
        int r = (int) (elements / cols);
        boolean pack = r >= Kernels.PANEL && r % Kernels.PANEL == 0;
        return switch (type) {
            case F32 -> F32Tensor.read(le, r, c, pack);
            case F16 -> F16Tensor.read(le, r, c, pack);
            case BF16 -> BF16Tensor.read(le, r, c, pack);
            case Q8_0 -> Q8_0Tensor.read(le, r, c, pack);
            case Q4_0 -> Q4_0Tensor.read(le, r, c, pack);
        };
    }

    /** Elements. */
    public final long size() {
        return size;
    }

    /** Elements per row. */
    public final int cols() {
        return cols;
    }

    /** Rows ({@code size / cols}). */
    public final int rows() {
        return rows;
    }

    /** Whether the rows are stored in panels of {@link Kernels#PANEL}. */
    public final boolean packed() {
        return packed;
    }

    /** The encoding. */
    public abstract GGMLType type();

    /** Bytes the elements take (encoded, as in the file). */
    public long byteSize() {
        return type().bytes(size);
    }

    /** Element {@code index} (row-major), decoded. */
    public final float getFloat(long index) {
        return get((int) (index / cols), (int) (index % cols));
    }

    /** Element {@code (row, col)}, decoded. */
    public abstract float get(int row, int col);

    /** Decodes elements {@code [offset, offset+n)} (row-major) into {@code dst}. */
    public void copyTo(long offset, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = getFloat(offset + i);
        }
    }

    /**
     * Rows {@code [rowFrom, rowTo)} of the rows from {@code rowStart} on, times {@code tokens}
     * activation vectors of {@link #cols()}; each row is read once for all of them (see
     * {@link Kernels}).
     *
     * <pre>
     *   out[outOff + t*outStride + r] (+)= row(rowStart + r) · x[xOff + t*xStride ..)
     * </pre>
     *
     * @param accumulate add to {@code out} instead of overwriting it
     */
    public abstract void matmul(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate);

    /** {@link #matmul} through the scalar reference kernels (tests compare the two). */
    public abstract void matmulScalar(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate);

    static int index(long i) {
        if (i > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("index " + i + " past one Java array");
        }
        return (int) i;
    }
}
