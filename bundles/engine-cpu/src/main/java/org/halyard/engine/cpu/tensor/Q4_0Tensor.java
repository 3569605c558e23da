package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.kernel.Kernels;

/**
 * Q4_0: blocks of 32 4-bit values and one F16 scale.
 *
 * <pre>
 *   | d: f16 | qs[0] ... qs[15] |   18 bytes per 32 elements
 *   element j      = d * ((qs[j] &amp; 0xF) - 8)     j in [0, 16)
 *   element j + 16 = d * ((qs[j] &gt;&gt; 4) - 8)
 * </pre>
 */
public final class Q4_0Tensor extends FloatTensor {

    private final ByteBuffer data;

    Q4_0Tensor(ByteBuffer data, long size) {
        super(size);
        this.data = data;
    }

    @Override
    public GGMLType type() {
        return GGMLType.Q4_0;
    }

    @Override
    public float getFloat(long index) {
        int blk = byteIndex(index / 32 * 18);
        int j = (int) (index % 32);
        int q = data.get(blk + 2 + (j & 15)) & 0xFF;
        int v = j < 16 ? (q & 0x0F) : (q >>> 4);
        return Float16.toFloat(data.getShort(blk)) * (v - 8);
    }

    @Override
    public float dot(long offset, float[] x, int xOff, int n) {
        return Kernels.dotQ4_0(data, byteIndex(offset / 32 * 18), x, xOff, n);
    }
}
