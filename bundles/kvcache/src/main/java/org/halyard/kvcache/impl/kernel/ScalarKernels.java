package org.halyard.kvcache.impl.kernel;

import java.nio.ByteBuffer;

/**
 * The reference kernels: plain loops, one per block type and storage (Java arrays for the hot
 * tier, little-endian {@link ByteBuffer}s for off-heap and disk). {@link VectorKernels} must give
 * the same results up to float rounding; {@code -Dhalyard.vector.bits=0} runs these instead.
 *
 * <p>Every kernel works on one row of {@code n} values (one token's key or value of one head):
 * {@code dot} returns {@code q · row}, {@code axpy} does {@code out += w * row}. INT8 kernels work
 * on the raw integers; the caller applies the scale.
 */
public final class ScalarKernels {

    private ScalarKernels() {
    }

    // ---- F32 ----

    public static float dotF32(float[] q, int qOff, float[] k, int kOff, int n) {
        float r = 0f;
        for (int i = 0; i < n; i++) {
            r += q[qOff + i] * k[kOff + i];
        }
        return r;
    }

    public static float dotF32(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        float r = 0f;
        for (int i = 0; i < n; i++) {
            r += q[qOff + i] * k.getFloat(kByteOff + 4 * i);
        }
        return r;
    }

    public static void axpyF32(float w, float[] v, int vOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] += w * v[vOff + i];
        }
    }

    public static void axpyF32(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] += w * v.getFloat(vByteOff + 4 * i);
        }
    }

    // ---- F16 ----

    public static float dotF16(float[] q, int qOff, short[] k, int kOff, int n) {
        float r = 0f;
        for (int i = 0; i < n; i++) {
            r += q[qOff + i] * Half.toFloat(k[kOff + i]);
        }
        return r;
    }

    public static float dotF16(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        float r = 0f;
        for (int i = 0; i < n; i++) {
            r += q[qOff + i] * Half.toFloat(k.getShort(kByteOff + 2 * i));
        }
        return r;
    }

    public static void axpyF16(float w, short[] v, int vOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] += w * Half.toFloat(v[vOff + i]);
        }
    }

    public static void axpyF16(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] += w * Half.toFloat(v.getShort(vByteOff + 2 * i));
        }
    }

    // ---- INT8 (raw integers; the caller scales) ----

    public static float dotI8(float[] q, int qOff, byte[] k, int kOff, int n) {
        float r = 0f;
        for (int i = 0; i < n; i++) {
            r += q[qOff + i] * k[kOff + i];
        }
        return r;
    }

    public static float dotI8(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        float r = 0f;
        for (int i = 0; i < n; i++) {
            r += q[qOff + i] * k.get(kByteOff + i);
        }
        return r;
    }

    public static void axpyI8(float w, byte[] v, int vOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] += w * v[vOff + i];
        }
    }

    public static void axpyI8(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] += w * v.get(vByteOff + i);
        }
    }
}
