package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.kernel.Kernels;

/** BF16 elements, 2 bytes each, little-endian. */
public final class BF16Tensor extends FloatTensor {

    private final ByteBuffer data;

    BF16Tensor(ByteBuffer data, long size) {
        super(size);
        this.data = data;
    }

    @Override
    public GGMLType type() {
        return GGMLType.BF16;
    }

    @Override
    public float getFloat(long index) {
        return Float16.bf16ToFloat(data.getShort(byteIndex(index * 2)));
    }

    @Override
    public float dot(long offset, float[] x, int xOff, int n) {
        return Kernels.dotBF16(data, byteIndex(offset * 2), x, xOff, n);
    }
}
