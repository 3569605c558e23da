package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.kernel.Kernels;

/**
 * Q8_0: blocks of 32 int8 values and one F16 scale.
 *
 * <pre>
 *   | d: f16 | q[0] ... q[31]: int8 |   34 bytes per 32 elements;  x = d * q
 * </pre>
 */
public final class Q8_0Tensor extends FloatTensor {

    private final ByteBuffer data;

    Q8_0Tensor(ByteBuffer data, long size) {
        super(size);
        this.data = data;
    }

    @Override
    public GGMLType type() {
        return GGMLType.Q8_0;
    }

    @Override
    public float getFloat(long index) {
        int blk = byteIndex(index / 32 * 34);
        return Float16.toFloat(data.getShort(blk)) * data.get(blk + 2 + (int) (index % 32));
    }

    @Override
    public float dot(long offset, float[] x, int xOff, int n) {
        return Kernels.dotQ8_0(data, byteIndex(offset / 32 * 34), x, xOff, n);
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; ) {
            long index = offset + i;
            int blk = byteIndex(index / 32 * 34);
            float d = Float16.toFloat(data.getShort(blk));
            for (int j = (int) (index % 32); j < 32 && i < n; j++, i++) {
                dst[dstOff + i] = d * data.get(blk + 2 + j);
            }
        }
    }
}
