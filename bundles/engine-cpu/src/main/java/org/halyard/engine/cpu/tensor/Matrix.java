package org.halyard.engine.cpu.tensor;

/**
 * A 2-D view of a tensor: {@code rows} of its rows starting at element {@code offset} (a whole
 * row). One expert's slice of a stacked 3-D expert tensor is such a view.
 *
 * <pre>
 *   W[r][c] = tensor(offset / cols + r, c)
 * </pre>
 */
public record Matrix(FloatTensor tensor, long offset, int rows, int cols) {

    public Matrix {
        if (rows <= 0 || cols <= 0 || offset < 0 || offset + (long) rows * cols > tensor.size()) {
            throw new IllegalArgumentException("a " + rows + "x" + cols + " view at " + offset
                    + " does not fit a tensor of " + tensor.size() + " elements");
        }
        if (cols != tensor.cols() || offset % cols != 0) {
            throw new IllegalArgumentException("a view of rows of " + cols + " at element " + offset
                    + " does not cover whole rows of a tensor with rows of " + tensor.cols());
        }
    }

    /** The whole tensor as {@code rows x cols}. */
    public static Matrix of(FloatTensor tensor, int rows, int cols) {
        return new Matrix(tensor, 0, rows, cols);
    }

    /** The tensor row of the view's row 0. */
    public int rowStart() {
        return (int) (offset / cols);
    }

    /** Row {@code r} dotted with {@code x[xOff, xOff+cols)} (tests and tools; allocates). */
    public float dotRow(int r, float[] x, int xOff) {
        float[] out = new float[1];
        tensor.matmul(rowStart() + r, 0, 1, x, xOff, cols, 1, out, 0, 1, false);
        return out[0];
    }

    /** Row {@code r} decoded into {@code dst}. */
    public void copyRow(int r, float[] dst, int dstOff) {
        tensor.copyTo(offset + (long) r * cols, dst, dstOff, cols);
    }

    /**
     * Rows {@code [rowFrom, rowTo)} times {@code tokens} activation vectors, each row read once
     * for all of them (one thread's share of a product; the caller splits rows among threads).
     *
     * <pre>
     *   out[outOff + t*outStride + r] (+)= W[r] · x[xOff + t*xStride .. +cols)     t &lt; tokens
     * </pre>
     */
    public void multiplyRows(int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens, float[] out,
            int outOff, int outStride, boolean accumulate) {
        tensor.matmul(rowStart(), rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride, accumulate);
    }
}
