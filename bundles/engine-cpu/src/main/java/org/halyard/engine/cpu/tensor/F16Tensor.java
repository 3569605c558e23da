package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.kernel.Kernels;

/** F16 elements (IEEE half floats) in a short array, row-major or in panels (see {@link FloatTensor}). */
public final class F16Tensor extends FloatTensor {

    private final short[] w;
    /** No infinity or NaN: the vector kernels' bit-level decoding applies. */
    private final boolean finite;

    private F16Tensor(short[] w, int cols, boolean packed) {
        super(w.length, cols, packed);
        this.w = w;
        boolean f = true;
        for (short v : w) {
            if (Float16.isSpecial(v)) {
                f = false;
                break;
            }
        }
        this.finite = f;
    }

    static F16Tensor read(ByteBuffer le, int rows, int cols, boolean pack) {
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
        return new F16Tensor(a, cols, pack);
    }

    @Override
    public GGMLType type() {
        return GGMLType.F16;
    }

    @Override
    public float get(int row, int col) {
        return Float16.toFloat(w[packed ? Kernels.panelIndex(row, col, cols) : row * cols + col]);
    }

    @Override
    public void matmul(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulF16Packed(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate, finite);
        } else {
            Kernels.matmulF16(w, rowStart * cols, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate, finite);
        }
    }

    @Override
    public void matmulScalar(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulHalfPackedScalar(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate, false);
        } else {
            Kernels.matmulF16Scalar(w, rowStart * cols, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        }
    }
}
