package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import org.halyard.engine.cpu.kernel.Kernels;

/** F32 elements in a float array, row-major or in panels (see {@link FloatTensor}). */
public final class F32Tensor extends FloatTensor {

    private final float[] w;

    /** One row of these values (not copied). */
    public F32Tensor(float[] values) {
        this(values, values.length, false);
    }

    private F32Tensor(float[] w, int cols, boolean packed) {
        super(w.length, cols, packed);
        this.w = w;
    }

    static F32Tensor read(ByteBuffer le, int rows, int cols, boolean pack) {
        float[] a = new float[rows * cols];
        FloatBuffer f = le.asFloatBuffer();
        if (!pack) {
            f.get(a);
        } else {
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < cols; k++) {
                    a[Kernels.panelIndex(r, k, cols)] = f.get(r * cols + k);
                }
            }
        }
        return new F32Tensor(a, cols, pack);
    }

    @Override
    public GGMLType type() {
        return GGMLType.F32;
    }

    @Override
    public float get(int row, int col) {
        return w[packed ? Kernels.panelIndex(row, col, cols) : row * cols + col];
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOff, int n) {
        if (packed) {
            super.copyTo(offset, dst, dstOff, n);
        } else {
            System.arraycopy(w, index(offset), dst, dstOff, n);
        }
    }

    @Override
    public void matmul(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulF32Packed(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        } else {
            Kernels.matmulF32(w, rowStart * cols, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        }
    }

    @Override
    public void matmulScalar(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulF32PackedScalar(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        } else {
            Kernels.matmulF32Scalar(w, rowStart * cols, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        }
    }
}
