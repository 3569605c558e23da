package org.halyard.engine.cpu.tensor;

import org.halyard.engine.cpu.kernel.Kernels;

/** F32 elements in a float array on the heap (small tensors built in memory, tests). */
public final class ArrayTensor extends FloatTensor {

    private final float[] values;

    public ArrayTensor(float[] values) {
        super(values.length);
        this.values = values;
    }

    @Override
    public GGMLType type() {
        return GGMLType.F32;
    }

    @Override
    public float getFloat(long index) {
        return values[(int) index];
    }

    @Override
    public float dot(long offset, float[] x, int xOff, int n) {
        return Kernels.dot(values, (int) offset, x, xOff, n);
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOff, int n) {
        System.arraycopy(values, (int) offset, dst, dstOff, n);
    }
}
