package org.halyard.kvcache.impl.block;

import java.nio.ByteBuffer;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.kernel.Kernels;

/**
 * F32 keys and values in two float arrays: a hot F32 block, or the staging of an open INT8 block
 * (which {@link #seal} quantises).
 */
final class F32HeapBlock extends BlockData {

    private final float[] k;
    private final float[] v;
    /** An open INT8 block: seals by quantising. */
    private final boolean int8Staging;
    private final boolean writable;

    F32HeapBlock(BlockShape shape, boolean int8Staging) {
        this(shape, new float[shape.sideValues()], new float[shape.sideValues()], int8Staging, true);
    }

    F32HeapBlock(BlockShape shape, float[] k, float[] v, boolean int8Staging, boolean writable) {
        super(shape);
        this.k = k;
        this.v = v;
        this.int8Staging = int8Staging;
        this.writable = writable;
    }

    @Override
    public KvDType dtype() {
        return int8Staging ? KvDType.INT8 : KvDType.F32;
    }

    @Override
    public long bytes() {
        return 8L * k.length;
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public boolean onHeap() {
        return true;
    }

    @Override
    public void write(int layer, int t, float[] kIn, int kOff, float[] vIn, int vOff) {
        if (!writable) {
            throw new IllegalStateException("block is sealed");
        }
        int hd = shape.headDim();
        for (int h = 0; h < shape.kvHeads(); h++) {
            int row = shape.row(layer, h, t);
            System.arraycopy(kIn, kOff + h * hd, k, row, hd);
            System.arraycopy(vIn, vOff + h * hd, v, row, hd);
        }
    }

    @Override
    public void writeKey(int layer, int head, int t, float[] kIn, int kOff) {
        if (!writable) {
            throw new IllegalStateException("block is sealed");
        }
        System.arraycopy(kIn, kOff, k, shape.row(layer, head, t), shape.headDim());
    }

    @Override
    public void keyDots(int layer, int head, float[] q, int qOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int row = shape.row(layer, head, t0);
        for (int t = t0; t < t1; t++, row += hd) {
            out[outOff + t - t0] = Kernels.dotF32(q, qOff, k, row, hd);
        }
    }

    @Override
    public void valueSum(int layer, int head, float[] w, int wOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int row = shape.row(layer, head, t0);
        for (int t = t0; t < t1; t++, row += hd) {
            Kernels.axpyF32(w[wOff + t - t0], v, row, out, outOff, hd);
        }
    }

    @Override
    public void readRow(boolean value, int layer, int head, int t, float[] dst, int dstOff) {
        System.arraycopy(value ? v : k, shape.row(layer, head, t), dst, dstOff, shape.headDim());
    }

    @Override
    public BlockData seal() {
        if (int8Staging) {
            return Int8HeapBlock.quantize(shape, k, v);
        }
        return writable ? new F32HeapBlock(shape, k, v, false, false) : this;
    }

    @Override
    public void copyTo(ByteBuffer dst) {
        if (int8Staging) {
            throw new IllegalStateException("an open INT8 block has no serialised form");
        }
        dst.duplicate().order(LE).clear().asFloatBuffer().put(k).put(v);
    }

    @Override
    public BlockData toHeap() {
        return this;
    }
}
