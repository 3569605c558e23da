package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.kernel.Kernels;

/**
 * Q4_0: blocks of 32 4-bit values and one scale; element = d * (q - 8).
 *
 * <pre>
 *   row-major (file): row r, block b at (r * blocks + b) * 18:   | d: f16 | qs[0] ... qs[15] |
 *                     element j = qs[j] &amp; 0xF, element j + 16 = qs[j] &gt;&gt; 4      (j &lt; 16)
 *   packed:           panel p, block b at (p * blocks + b) * 256:
 *                     | column k=0: 8 bytes | column k=1 | ... | column k=31 |
 *                     column byte j: low nibble = row j, high nibble = row j + 8   (j &lt; 8)
 *                     d(row j) as a float at scales[(p * blocks + b) * 16 + j]
 * </pre>
 *
 * Packed scales are floats (20 bytes per 32 elements instead of the file's 18): decoding
 * half-float scales inside the vector kernels makes them too large for C2 to compile whole.
 */
public final class Q4_0Tensor extends FloatTensor {

    private final byte[] data;
    /** Packed: the scales; row-major: null (they are in {@code data}). */
    private final float[] scales;
    private final int blocks;
    /** No scale is infinite or NaN (the vector kernels would turn 0 * inf into NaN where the reference does not). */
    private final boolean finite;

    private Q4_0Tensor(byte[] data, float[] scales, long size, int cols) {
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

    static Q4_0Tensor read(ByteBuffer le, int rows, int cols, boolean pack) {
        int blocks = cols / 32;
        if (!pack) {
            byte[] a = new byte[rows * blocks * 18];
            le.get(0, a);
            return new Q4_0Tensor(a, null, (long) rows * cols, cols);
        }
        byte[] a = new byte[rows * blocks * 16];
        float[] sc = new float[rows * blocks];
        for (int r = 0; r < rows; r++) {
            int p = r / Kernels.PANEL;
            int j = r % Kernels.PANEL;
            int shift = j < 8 ? 0 : 4;
            for (int b = 0; b < blocks; b++) {
                int src = (r * blocks + b) * 18;
                int dst = (p * blocks + b) * Kernels.PANEL * 16;
                sc[(p * blocks + b) * Kernels.PANEL + j] = Float16.toFloat(le.getShort(src));
                for (int k = 0; k < 32; k++) {
                    int qs = le.get(src + 2 + (k & 15)) & 0xFF;
                    int q = k < 16 ? qs & 0x0F : qs >>> 4;
                    int at = dst + k * 8 + (j & 7);
                    a[at] = (byte) (a[at] | (q << shift));
                }
            }
        }
        return new Q4_0Tensor(a, sc, (long) rows * cols, cols);
    }

    private float scale(int row, int b) {
        return packed ? scales[((row / Kernels.PANEL) * blocks + b) * Kernels.PANEL + row % Kernels.PANEL]
                : Float16.toFloat(Float16.shortAt(data, (row * blocks + b) * 18));
    }

    @Override
    public GGMLType type() {
        return GGMLType.Q4_0;
    }

    @Override
    public long byteSize() {
        return packed ? data.length + 4L * scales.length : data.length;
    }

    @Override
    public float get(int row, int col) {
        int b = col / 32;
        int k = col % 32;
        int q;
        if (packed) {
            int j = row % Kernels.PANEL;
            int v = data[((row / Kernels.PANEL) * blocks + b) * Kernels.PANEL * 16 + k * 8 + (j & 7)] & 0xFF;
            q = j < 8 ? v & 0x0F : v >>> 4;
        } else {
            int v = data[(row * blocks + b) * 18 + 2 + (k & 15)] & 0xFF;
            q = k < 16 ? v & 0x0F : v >>> 4;
        }
        return scale(row, b) * (q - 8);
    }

    @Override
    public void matmul(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulQ4_0Packed(data, scales, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out,
                    outOff, outStride, accumulate, finite);
        } else {
            Kernels.matmulQ4_0(data, rowStart * blocks * 18, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out,
                    outOff, outStride, accumulate);
        }
    }

    @Override
    public void matmulScalar(int rowStart, int rowFrom, int rowTo, float[] x, int xOff, int xStride, int tokens,
            float[] out, int outOff, int outStride, boolean accumulate) {
        if (packed) {
            Kernels.matmulQ4_0PackedScalar(data, scales, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens,
                    out, outOff, outStride, accumulate);
        } else {
            Kernels.matmulQ4_0Scalar(data, rowStart * blocks * 18, cols, rowFrom, rowTo, x, xOff, xStride, tokens,
                    out, outOff, outStride, accumulate);
        }
    }
}
