package org.halyard.kvcache.impl.block;

import java.nio.ByteBuffer;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.kernel.Half;
import org.halyard.kvcache.impl.kernel.Kernels;

/** F16 keys and values in two short arrays (IEEE half bits), converted on write. */
final class F16HeapBlock extends BlockData {

    private final short[] k;
    private final short[] v;
    private final boolean writable;

    F16HeapBlock(BlockShape shape, boolean sealed) {
        this(shape, new short[shape.sideValues()], new short[shape.sideValues()], !sealed);
    }

    F16HeapBlock(BlockShape shape, short[] k, short[] v, boolean writable) {
        super(shape);
        this.k = k;
        this.v = v;
        this.writable = writable;
    }

    @Override
    public KvDType dtype() {
        return KvDType.F16;
    }

    @Override
    public long bytes() {
        return 4L * k.length;
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
            int ki = kOff + h * hd;
            int vi = vOff + h * hd;
            for (int i = 0; i < hd; i++) {
                k[row + i] = Half.fromFloat(kIn[ki + i]);
                v[row + i] = Half.fromFloat(vIn[vi + i]);
            }
        }
    }

    @Override
    public void writeKey(int layer, int head, int t, float[] kIn, int kOff) {
        if (!writable) {
            throw new IllegalStateException("block is sealed");
        }
        int row = shape.row(layer, head, t);
        for (int i = 0; i < shape.headDim(); i++) {
            k[row + i] = Half.fromFloat(kIn[kOff + i]);
        }
    }

    @Override
    public void keyDots(int layer, int head, float[] q, int qOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int row = shape.row(layer, head, t0);
        for (int t = t0; t < t1; t++, row += hd) {
            out[outOff + t - t0] = Kernels.dotF16(q, qOff, k, row, hd);
        }
    }

    @Override
    public void valueSum(int layer, int head, float[] w, int wOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int row = shape.row(layer, head, t0);
        for (int t = t0; t < t1; t++, row += hd) {
            Kernels.axpyF16(w[wOff + t - t0], v, row, out, outOff, hd);
        }
    }

    @Override
    public void readRow(boolean value, int layer, int head, int t, float[] dst, int dstOff) {
        short[] src = value ? v : k;
        int row = shape.row(layer, head, t);
        for (int i = 0; i < shape.headDim(); i++) {
            dst[dstOff + i] = Half.toFloat(src[row + i]);
        }
    }

    @Override
    public BlockData seal() {
        return writable ? new F16HeapBlock(shape, k, v, false) : this;
    }

    @Override
    public void copyTo(ByteBuffer dst) {
        dst.duplicate().order(LE).clear().asShortBuffer().put(k).put(v);
    }

    @Override
    public BlockData toHeap() {
        return this;
    }
}
