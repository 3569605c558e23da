package org.halyard.kvcache.impl.block;

import java.nio.ByteBuffer;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.kernel.Kernels;

/** A sealed F32 block serialised in a buffer (off-heap or a mapped file), read in place. */
final class F32BufferBlock extends BlockData {

    private final ByteBuffer b;
    private final int vBase;

    F32BufferBlock(BlockShape shape, ByteBuffer b) {
        super(shape);
        this.b = b;
        this.vBase = 4 * shape.sideValues();
    }

    @Override
    public KvDType dtype() {
        return KvDType.F32;
    }

    @Override
    public long bytes() {
        return shape.bytes(KvDType.F32);
    }

    @Override
    public boolean onHeap() {
        return false;
    }

    @Override
    public void keyDots(int layer, int head, float[] q, int qOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int at = 4 * shape.row(layer, head, t0);
        for (int t = t0; t < t1; t++, at += 4 * hd) {
            out[outOff + t - t0] = Kernels.dotF32(q, qOff, b, at, hd);
        }
    }

    @Override
    public void valueSum(int layer, int head, float[] w, int wOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int at = vBase + 4 * shape.row(layer, head, t0);
        for (int t = t0; t < t1; t++, at += 4 * hd) {
            Kernels.axpyF32(w[wOff + t - t0], b, at, out, outOff, hd);
        }
    }

    @Override
    public void readRow(boolean value, int layer, int head, int t, float[] dst, int dstOff) {
        int at = (value ? vBase : 0) + 4 * shape.row(layer, head, t);
        for (int i = 0; i < shape.headDim(); i++) {
            dst[dstOff + i] = b.getFloat(at + 4 * i);
        }
    }

    @Override
    public void copyTo(ByteBuffer dst) {
        ByteBuffer src = b.duplicate();
        src.clear().limit((int) bytes());
        dst.duplicate().clear().put(src);
    }

    @Override
    public BlockData toHeap() {
        int n = shape.sideValues();
        float[] k = new float[n];
        float[] v = new float[n];
        b.duplicate().order(LE).clear().asFloatBuffer().get(k).get(v);
        return new F32HeapBlock(shape, k, v, false, false);
    }
}
