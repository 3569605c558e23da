package org.halyard.kvcache.impl.block;

import java.nio.ByteBuffer;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.kernel.Half;
import org.halyard.kvcache.impl.kernel.Kernels;

/** A sealed F16 block serialised in a buffer (off-heap or a mapped file), read in place. */
final class F16BufferBlock extends BlockData {

    private final ByteBuffer b;
    private final int vBase;

    F16BufferBlock(BlockShape shape, ByteBuffer b) {
        super(shape);
        this.b = b;
        this.vBase = 2 * shape.sideValues();
    }

    @Override
    public KvDType dtype() {
        return KvDType.F16;
    }

    @Override
    public long bytes() {
        return shape.bytes(KvDType.F16);
    }

    @Override
    public boolean onHeap() {
        return false;
    }

    @Override
    public void keyDots(int layer, int head, float[] q, int qOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int at = 2 * shape.row(layer, head, t0);
        for (int t = t0; t < t1; t++, at += 2 * hd) {
            out[outOff + t - t0] = Kernels.dotF16(q, qOff, b, at, hd);
        }
    }

    @Override
    public void valueSum(int layer, int head, float[] w, int wOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int at = vBase + 2 * shape.row(layer, head, t0);
        for (int t = t0; t < t1; t++, at += 2 * hd) {
            Kernels.axpyF16(w[wOff + t - t0], b, at, out, outOff, hd);
        }
    }

    @Override
    public void readRow(boolean value, int layer, int head, int t, float[] dst, int dstOff) {
        int at = (value ? vBase : 0) + 2 * shape.row(layer, head, t);
        for (int i = 0; i < shape.headDim(); i++) {
            dst[dstOff + i] = Half.toFloat(b.getShort(at + 2 * i));
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
        short[] k = new short[n];
        short[] v = new short[n];
        b.duplicate().order(LE).clear().asShortBuffer().get(k).get(v);
        return new F16HeapBlock(shape, k, v, false);
    }
}
