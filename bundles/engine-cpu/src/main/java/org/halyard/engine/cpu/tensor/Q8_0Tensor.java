package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.kernel.Kernels;

/**
 * Q8_0: blocks of 32 int8 values and one scale; element = d * q.
 *
 * <pre>
 *   row-major (file): row r, block b at (r * blocks + b) * 34:   | d: f16 | q[0] ... q[31]: int8 |
 *   packed:           panel p, block b at (p * blocks + b) * 512:
 *                     | q(k=0, rows 0..15) | q(k=1, rows 0..15) | ... | q(k=31, rows 0..15) |
 *                     d(row j) as a float at scales[(p * blocks + b) * 16 + j]
 * </pre>
 *
 * Packed scales are floats (36 bytes per 32 elements instead of the file's 34): decoding
 * half-float scales inside the vector kernels makes them too large for C2 to compile whole.
 */
public final class Q8_0Tensor extends FloatTensor {

    private final byte[] data;
    /** Packed: the scales; row-major: null (they are in {@code data}). */
    private final float[] scales;
    private final int blocks;
    /** No scale is infinite or NaN (the vector kernels would turn 0 * inf into NaN where the reference does not). */
    private final boolean finite;

    private Q8_0Tensor(byte[] data, float[] scales, long size, int cols) {
        super(size, cols, scales != null);
        this.data = data;
        this.scales = scales;
        this.blocks = cols / 32;
        boolean f = true;
        for (int r = 0; r < rows && f; r++) {
            for (int b = 0; b < blocks; b++) {
                if (!Float.isFinite(scale(r, b))) {
                    f = false;
                    break;
                }
            }
        }
        this.finite = f;
    }

    static Q8_0Tensor read(ByteBuffer le, int rows, int cols, boolean pack) {
        int blocks = cols / 32;
        if (!pack) {
            byte[] a = new byte[rows * blocks * 34];
            le.get(0, a);
            return new Q8_0Tensor(a, null, (long) rows * cols, cols);
        }
        byte[] a = new byte[rows * blocks * 32];
        float[] sc = new float[rows * blocks];
        for (int r = 0; r < rows; r++) {
            int p = r / Kernels.PANEL;
            int j = r % Kernels.PANEL;
            for (int b = 0; b < blocks; b++) {
                int src = (r * blocks + b) * 34;
                int dst = (p * blocks + b) * Kernels.PANEL * 32;
                sc[(p * blocks + b) * Kernels.PANEL + j] = Float16.toFloat(le.getShort(src));
                for (int k = 0; k < 32; k++) {
                    a[dst + k * Kernels.PANEL + j] = le.get(src + 2 + k);
                }
            }
        }
        return new Q8_0Tensor(a, sc, (long) rows * cols, cols);
    }

    private float scale(int row, int b) {
        return packed ? scales[((row / Kernels.PANEL) * blocks + b) * Kernels.PANEL + row % Kernels.PANEL]
                : Float16.toFloat(Float16.shortAt(data, (row * blocks + b) * 34));
    }

    @Override
    public GGMLType type() {
        return GGMLType.Q8_0;
    }

    @Override
    public long byteSize() {
        return packed ? data.length + 4L * scales.length : data.length;
    }

    @Override
    public float get(int row, int col) {
        int b = col / 32;
        int k = col % 32;
        int q = packed ? data[((row / Kernels.PANEL) * blocks + b) * Kernels.PANEL * 32 + k * Kernels.PANEL
                + row % Kernels.PANEL] : data[(row * blocks + b) * 34 + 2 + k];
        return scale(row, b) * q;
    }

    @Override
    public void matmul(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulQ8_0Packed(data, scales, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out,
                    outOff, outStride, accumulate, finite);
        } else {
            Kernels.matmulQ8_0(data, rowStart * blocks * 34, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out,
                    outOff, outStride, accumulate);
        }
    }

    @Override
    public void matmulScalar(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulQ8_0PackedScalar(data, scales, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens,
                    out, outOff, outStride, accumulate);
        } else {
            Kernels.matmulQ8_0Scalar(data, rowStart * blocks * 34, cols, rowFrom, rowTo, x, xOff, xStride, tokens,
                    out, outOff, outStride, accumulate);
        }
    }
}
