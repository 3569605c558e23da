package org.halyard.engine.cpu.tensor;

import org.halyard.engine.cpu.kernel.Parallel;

/**
 * A row-major 2-D view of a tensor: {@code rows} rows of {@code cols} elements starting at
 * element {@code offset}. One expert's slice of a stacked 3-D expert tensor is such a view.
 *
 * <pre>
 *   W[r][c] = tensor[offset + r * cols + c]
 * </pre>
 */
public record Matrix(FloatTensor tensor, long offset, int rows, int cols) {

    public Matrix {
        if (rows <= 0 || cols <= 0 || offset < 0 || offset + (long) rows * cols > tensor.size()) {
            throw new IllegalArgumentException("a " + rows + "x" + cols + " view at " + offset
                    + " does not fit a tensor of " + tensor.size() + " elements");
        }
        if (offset % tensor.type().blockSize() != 0 || cols % tensor.type().blockSize() != 0) {
            throw new IllegalArgumentException(tensor.type() + " rows of " + cols
                    + " elements are not whole blocks");
        }
    }

    /** The whole tensor as {@code rows x cols}. */
    public static Matrix of(FloatTensor tensor, int rows, int cols) {
        return new Matrix(tensor, 0, rows, cols);
    }

    /** Row {@code r} dotted with {@code x[xOff, xOff+cols)}. */
    public float dotRow(int r, float[] x, int xOff) {
        return tensor.dot(offset + (long) r * cols, x, xOff, cols);
    }

    /** Row {@code r} decoded into {@code dst}. */
    public void copyRow(int r, float[] dst, int dstOff) {
        tensor.copyTo(offset + (long) r * cols, dst, dstOff, cols);
    }

    /**
     * Multiplies the matrix with {@code tokens} activation vectors, reading each weight row once
     * for all of them (the rows are split among threads; a row stays in cache while every
     * token's dot product with it is taken).
     *
     * <pre>
     *   out[outOff + b*outStride + r] = W[r] · x[xOff + b*xStride .. +cols)     b &lt; tokens, r &lt; rows
     * </pre>
     */
    public void multiply(Parallel par, float[] x, int xOff, int xStride, int tokens, float[] out, int outOff,
            int outStride) {
        par.forRange(rows, (chunk, from, to) -> {
            for (int r = from; r < to; r++) {
                long row = offset + (long) r * cols;
                for (int b = 0; b < tokens; b++) {
                    out[outOff + b * outStride + r] = tensor.dot(row, x, xOff + b * xStride, cols);
                }
            }
        });
    }
}
