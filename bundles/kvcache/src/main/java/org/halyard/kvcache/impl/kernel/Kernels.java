package org.halyard.kvcache.impl.kernel;

import java.nio.ByteBuffer;

/**
 * The kernels the blocks call: each picks the vector body or the scalar reference on a
 * {@code static final} flag the JIT folds away. See {@link ScalarKernels} for what each computes.
 */
public final class Kernels {

    private static final boolean VECTOR = Vectors.ENABLED;

    private Kernels() {
    }

    public static float dotF32(float[] q, int qOff, float[] k, int kOff, int n) {
        return VECTOR ? VectorKernels.dotF32(q, qOff, k, kOff, n) : ScalarKernels.dotF32(q, qOff, k, kOff, n);
    }

    public static float dotF32(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        return VECTOR ? VectorKernels.dotF32(q, qOff, k, kByteOff, n) : ScalarKernels.dotF32(q, qOff, k, kByteOff, n);
    }

    public static void axpyF32(float w, float[] v, int vOff, float[] out, int outOff, int n) {
        if (VECTOR) {
            VectorKernels.axpyF32(w, v, vOff, out, outOff, n);
        } else {
            ScalarKernels.axpyF32(w, v, vOff, out, outOff, n);
        }
    }

    public static void axpyF32(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        if (VECTOR) {
            VectorKernels.axpyF32(w, v, vByteOff, out, outOff, n);
        } else {
            ScalarKernels.axpyF32(w, v, vByteOff, out, outOff, n);
        }
    }

    public static float dotF16(float[] q, int qOff, short[] k, int kOff, int n) {
        return VECTOR ? VectorKernels.dotF16(q, qOff, k, kOff, n) : ScalarKernels.dotF16(q, qOff, k, kOff, n);
    }

    public static float dotF16(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        return VECTOR ? VectorKernels.dotF16(q, qOff, k, kByteOff, n) : ScalarKernels.dotF16(q, qOff, k, kByteOff, n);
    }

    public static void axpyF16(float w, short[] v, int vOff, float[] out, int outOff, int n) {
        if (VECTOR) {
            VectorKernels.axpyF16(w, v, vOff, out, outOff, n);
        } else {
            ScalarKernels.axpyF16(w, v, vOff, out, outOff, n);
        }
    }

    public static void axpyF16(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        if (VECTOR) {
            VectorKernels.axpyF16(w, v, vByteOff, out, outOff, n);
        } else {
            ScalarKernels.axpyF16(w, v, vByteOff, out, outOff, n);
        }
    }

    public static float dotI8(float[] q, int qOff, byte[] k, int kOff, int n) {
        return VECTOR ? VectorKernels.dotI8(q, qOff, k, kOff, n) : ScalarKernels.dotI8(q, qOff, k, kOff, n);
    }

    public static float dotI8(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        return VECTOR ? VectorKernels.dotI8(q, qOff, k, kByteOff, n) : ScalarKernels.dotI8(q, qOff, k, kByteOff, n);
    }

    public static void axpyI8(float w, byte[] v, int vOff, float[] out, int outOff, int n) {
        if (VECTOR) {
            VectorKernels.axpyI8(w, v, vOff, out, outOff, n);
        } else {
            ScalarKernels.axpyI8(w, v, vOff, out, outOff, n);
        }
    }

    public static void axpyI8(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        if (VECTOR) {
            VectorKernels.axpyI8(w, v, vByteOff, out, outOff, n);
        } else {
            ScalarKernels.axpyI8(w, v, vByteOff, out, outOff, n);
        }
    }
}
