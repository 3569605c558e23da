package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.kernel.Kernels;

/** BF16 elements (the upper halves of floats) in a short array, row-major or in panels (see {@link FloatTensor}). */
public final class BF16Tensor extends FloatTensor {

    private final short[] w;

    private BF16Tensor(short[] w, int cols, boolean packed) {
        super(w.length, cols, packed);
        this.w = w;
    }

    static BF16Tensor read(ByteBuffer le, int rows, int cols, boolean pack) {
        short[] a = new short[rows * cols];
        ShortBuffer s = le.asShortBuffer();
        if (!pack) {
            s.get(a);
        } else {
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < cols; k++) {
                    a[Kernels.panelIndex(r, k, cols)] = s.get(r * cols + k);
                }
            }
        }
        return new BF16Tensor(a, cols, pack);
    }

    @Override
    public GGMLType type() {
        return GGMLType.BF16;
    }

    @Override
    public float get(int row, int col) {
        return Float16.bf16ToFloat(w[packed ? Kernels.panelIndex(row, col, cols) : row * cols + col]);
    }

    @Override
    public void matmul(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulBF16Packed(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        } else {
            Kernels.matmulBF16(w, rowStart * cols, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        }
    }

    @Override
    public void matmulScalar(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulHalfPackedScalar(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate, true);
        } else {
            Kernels.matmulBF16Scalar(w, rowStart * cols, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        }
    }
}
