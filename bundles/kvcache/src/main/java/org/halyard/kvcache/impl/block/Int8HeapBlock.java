package org.halyard.kvcache.impl.block;

import java.nio.ByteBuffer;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.kernel.Kernels;

/**
 * INT8 keys and values with one float scale per (layer, head) and side: a sealed block's values
 * are {@code scale * int8}, symmetric, {@code scale = max|x| / 127} over the block's tokens of
 * that head.
 */
final class Int8HeapBlock extends BlockData {

    private final byte[] k;
    private final byte[] v;
    private final float[] kScale;
    private final float[] vScale;

    Int8HeapBlock(BlockShape shape, byte[] k, byte[] v, float[] kScale, float[] vScale) {
        super(shape);
        this.k = k;
        this.v = v;
        this.kScale = kScale;
        this.vScale = vScale;
    }

    /** Quantises F32 staging: one scale per (layer, head) and side, over all tokens of the block. */
    static Int8HeapBlock quantize(BlockShape shape, float[] kf, float[] vf) {
        byte[] k = new byte[kf.length];
        byte[] v = new byte[vf.length];
        float[] ks = new float[shape.heads()];
        float[] vs = new float[shape.heads()];
        int run = shape.tokens() * shape.headDim(); // one (layer, head): all tokens, contiguous
        for (int lh = 0; lh < shape.heads(); lh++) {
            ks[lh] = quantize(kf, k, lh * run, run);
            vs[lh] = quantize(vf, v, lh * run, run);
        }
        return new Int8HeapBlock(shape, k, v, ks, vs);
    }

    /** Quantises {@code [off, off+n)} symmetrically into {@code dst}; returns the scale. */
    static float quantize(float[] src, byte[] dst, int off, int n) {
        float max = 0f;
        for (int i = off; i < off + n; i++) {
            max = Math.max(max, Math.abs(src[i]));
        }
        if (max == 0f || !Float.isFinite(max)) {
            // all zero, or a non-finite value that no scale can hold: keep zeros rather than NaN
            return max == 0f ? 0f : quantizeClamped(src, dst, off, n);
        }
        float scale = max / 127f;
        float inv = 127f / max;
        for (int i = off; i < off + n; i++) {
            dst[i] = (byte) Math.max(-127, Math.min(127, Math.round(src[i] * inv)));
        }
        return scale;
    }

    /** A run holding infinities or NaN: scale by the largest finite value, saturate the rest. */
    private static float quantizeClamped(float[] src, byte[] dst, int off, int n) {
        float max = 0f;
        for (int i = off; i < off + n; i++) {
            if (Float.isFinite(src[i])) {
                max = Math.max(max, Math.abs(src[i]));
            }
        }
        float scale = max == 0f ? 1f : max / 127f;
        for (int i = off; i < off + n; i++) {
            float x = src[i];
            dst[i] = Float.isNaN(x) ? 0 : (byte) Math.max(-127, Math.min(127, Math.round(x / scale)));
        }
        return scale;
    }

    @Override
    public KvDType dtype() {
        return KvDType.INT8;
    }

    @Override
    public long bytes() {
        return 2L * k.length + 8L * kScale.length;
    }

    @Override
    public boolean onHeap() {
        return true;
    }

    @Override
    public void keyDots(int layer, int head, float[] q, int qOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int row = shape.row(layer, head, t0);
        float scale = kScale[layer * shape.kvHeads() + head];
        for (int t = t0; t < t1; t++, row += hd) {
            out[outOff + t - t0] = scale * Kernels.dotI8(q, qOff, k, row, hd);
        }
    }

    @Override
    public void valueSum(int layer, int head, float[] w, int wOff, int t0, int t1, float[] out, int outOff) {
        checkTokens(t0, t1);
        int hd = shape.headDim();
        int row = shape.row(layer, head, t0);
        float scale = vScale[layer * shape.kvHeads() + head];
        for (int t = t0; t < t1; t++, row += hd) {
            Kernels.axpyI8(w[wOff + t - t0] * scale, v, row, out, outOff, hd);
        }
    }

    @Override
    public void readRow(boolean value, int layer, int head, int t, float[] dst, int dstOff) {
        byte[] src = value ? v : k;
        float scale = (value ? vScale : kScale)[layer * shape.kvHeads() + head];
        int row = shape.row(layer, head, t);
        for (int i = 0; i < shape.headDim(); i++) {
            dst[dstOff + i] = scale * src[row + i];
        }
    }

    @Override
    public void copyTo(ByteBuffer dst) {
        ByteBuffer d = dst.duplicate().order(LE).clear();
        d.put(k).put(v);
        d.asFloatBuffer().put(kScale).put(vScale);
    }

    @Override
    public BlockData toHeap() {
        return this;
    }
}
