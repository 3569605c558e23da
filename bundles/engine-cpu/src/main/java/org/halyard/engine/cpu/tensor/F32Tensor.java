package org.halyard.engine.cpu.tensor;

import java.nio.ByteBuffer;
import org.halyard.engine.cpu.kernel.Kernels;

/** F32 elements, 4 bytes each, little-endian. */
public final class F32Tensor extends FloatTensor {

    private final ByteBuffer data;

    F32Tensor(ByteBuffer data, long size) {
        super(size);
        this.data = data;
    }

    @Override
    public GGMLType type() {
        return GGMLType.F32;
    }

    @Override
    public float getFloat(long index) {
        return data.getFloat(byteIndex(index * 4));
    }

    @Override
    public float dot(long offset, float[] x, int xOff, int n) {
        return Kernels.dotF32(data, byteIndex(offset * 4), x, xOff, n);
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOff, int n) {
        data.asFloatBuffer().get(byteIndex(offset), dst, dstOff, n);
    }
}
