package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.kernel.Kernels;

/** F16 elements, 2 bytes each, little-endian. */
public final class F16Tensor extends FloatTensor {

    private final ByteBuffer data;

    F16Tensor(ByteBuffer data, long size) {
        super(size);
        this.data = data;
    }

    @Override
    public GGMLType type() {
        return GGMLType.F16;
    }

    @Override
    public float getFloat(long index) {
        return Float16.toFloat(data.getShort(byteIndex(index * 2)));
    }

    @Override
    public float dot(long offset, float[] x, int xOff, int n) {
        return Kernels.dotF16(data, byteIndex(offset * 2), x, xOff, n);
    }
}
