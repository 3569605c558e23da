package org.halyard.kvcache.impl.block;

import java.nio.ByteBuffer;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.kernel.Kernels;

/**
 * A sealed INT8 block serialised in a buffer (off-heap or a mapped file), read in place. The few
 * scales are read once into arrays.
 */
final class Int8BufferBlock extends BlockData {

    private final ByteBuffer b;
    private final int vBase;
    private final float[] kScale;
    private final float[] vScale;

    Int8BufferBlock(BlockShape shape, ByteBuffer b) {
        super(shape);
        this.b = b;
        this.vBase = shape.sideValues();
        int heads = shape.heads();
        this.kScale = new float[heads];
        this.vScale = new float[heads];
        int at = 2 * shape.sideValues();
        for (int i = 0; i < heads; i++) {
            kScale[i] = b.getFloat(at + 4 * i);
            vScale[i] = b.getFloat(at + 4 * (heads + i));
        }
    }

    @Override
    public KvDType dtype() {
        return KvDType.INT8;
    }

    @Override
    public long bytes() {
        return shape.bytes(KvDType.INT8);
    }

    @Override
    public boolean onHeap() {
        return false;
    }

    @Override
    public void keyDots(int layer, int head, float[] q, int qOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int at = shape.row(layer, head, t0);
        float scale = kScale[layer * shape.kvHeads() + head];
        for (int t = t0; t < t1; t++, at += hd) {
            out[outOff + t - t0] = scale * Kernels.dotI8(q, qOff, b, at, hd);
        }
    }

    @Override
    public void valueSum(int layer, int head, float[] w, int wOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int at = vBase + shape.row(layer, head, t0);
        float scale = vScale[layer * shape.kvHeads() + head];
        for (int t = t0; t < t1; t++, at += hd) {
            Kernels.axpyI8(w[wOff + t - t0] * scale, b, at, out, outOff, hd);
        }
    }

    @Override
    public void readRow(boolean value, int layer, int head, int t, float[] dst, int dstOff) {
        int at = (value ? vBase : 0) + shape.row(layer, head, t);
        float scale = (value ? vScale : kScale)[layer * shape.kvHeads() + head];
        for (int i = 0; i < shape.headDim(); i++) {
            dst[dstOff + i] = scale * b.get(at + i);
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
        byte[] k = new byte[n];
        byte[] v = new byte[n];
        ByteBuffer src = b.duplicate().order(LE).clear();
        src.get(k).get(v);
        return new Int8HeapBlock(shape, k, v, kScale.clone(), vScale.clone());
    }
}
