package org.halyard.engine.cpu.kernel;

import java.nio.ByteBuffer;

/**
 * The engine's compute kernels: dot products of a weight row (F32, F16, BF16, Q8_0, Q4_0 bytes
 * in a little-endian buffer, or a float array) with activations. Each kernel is a scalar
 * reference ({@code *Scalar}, public so tests can compare) and a Vector API body in
 * {@link VectorKernels}, chosen once by the vector width:
 *
 * <pre>
 *   -Dhalyard.vector.bits=0     scalar only (the reference)
 *   -Dhalyard.vector.bits=256   256-bit vectors (default: the CPU's preferred width)
 * </pre>
 *
 * Model code never sees SIMD, and kernels never see layers.
 */
public final class Kernels {

    /** Vector width in bits the kernels use; 0 when they run the scalar reference. */
    public static final int VECTOR_BITS = vectorBits();

    private static final boolean VECTOR = VECTOR_BITS > 0;
    /** Quantised kernels need at least 8 float lanes (a 64-bit load of int8s per vector). */
    private static final boolean VECTOR_QUANT = VECTOR_BITS >= 256;
    private static final boolean VECTOR_BF16 = VECTOR_QUANT && Boolean.getBoolean("halyard.vector.bf16");

    private Kernels() {
    }

    private static int vectorBits() {
        try {
            // through our own class loader: in OSGi the package must also be wired to the bundle
            Class.forName("jdk.incubator.vector.FloatVector", false, Kernels.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return 0; // no --add-modules jdk.incubator.vector, or a framework that does not export it
        }
        String requested = System.getProperty("halyard.vector.bits");
        int preferred = VectorKernels.preferredBits();
        if (requested == null || requested.isBlank()) {
            return preferred;
        }
        int bits;
        try {
            bits = Integer.parseInt(requested.trim());
        } catch (NumberFormatException e) {
            return preferred;
        }
        if (bits == 0) {
            return 0;
        }
        return (bits == 128 || bits == 256 || bits == 512) && bits <= preferred ? bits : preferred;
    }

    // ---- float[] · float[] -------------------------------------------------------------------

    /** {@code Σ a[aOff+i] * b[bOff+i]} for {@code i < n}. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        return VECTOR && n >= 16 ? VectorKernels.dot(a, aOff, b, bOff, n) : dotScalar(a, aOff, b, bOff, n);
    }

    public static float dotScalar(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** {@code y[yOff+i] += a * x[xOff+i]} for {@code i < n}. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        if (VECTOR && n >= 16) {
            VectorKernels.axpy(a, x, xOff, y, yOff, n);
        } else {
            axpyScalar(a, x, xOff, y, yOff, n);
        }
    }

    public static void axpyScalar(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    // ---- weight rows in mapped bytes · float[] -------------------------------------------------

    /** F32 row starting at byte {@code w0} of {@code w}, dotted with {@code x[xOff, xOff+n)}. */
    public static float dotF32(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        return VECTOR && n >= 16 ? VectorKernels.dotF32(w, w0, x, xOff, n) : dotF32Scalar(w, w0, x, xOff, n);
    }

    public static float dotF32Scalar(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += w.getFloat(w0 + 4 * i) * x[xOff + i];
        }
        return s;
    }

    /** F16 row (scalar for now; a vector body is for the speed work). */
    public static float dotF16(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        return dotF16Scalar(w, w0, x, xOff, n);
    }

    public static float dotF16Scalar(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += Float16.toFloat(w.getShort(w0 + 2 * i)) * x[xOff + i];
        }
        return s;
    }

    /**
     * BF16 row. Scalar by default: the vector body's short-to-int widening is not compiled to
     * SIMD by Java 17 on AVX2 and runs slower than the scalar loop; {@code -Dhalyard.vector.bf16=true}
     * turns it on (for the speed work).
     */
    public static float dotBF16(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        return VECTOR_BF16 && n >= 16 ? VectorKernels.dotBF16(w, w0, x, xOff, n) : dotBF16Scalar(w, w0, x, xOff, n);
    }

    public static float dotBF16Scalar(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += Float16.bf16ToFloat(w.getShort(w0 + 2 * i)) * x[xOff + i];
        }
        return s;
    }

    /**
     * Q8_0 row: {@code n/32} blocks from byte {@code w0}.
     *
     * <pre>
     *   block (34 bytes): | d: f16 | q[0] q[1] ... q[31]: int8 |     x[j] = d * q[j]
     * </pre>
     */
    public static float dotQ8_0(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        return VECTOR_QUANT ? VectorKernels.dotQ8_0(w, w0, x, xOff, n) : dotQ8_0Scalar(w, w0, x, xOff, n);
    }

    public static float dotQ8_0Scalar(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        float s = 0;
        for (int b = 0; b < n / 32; b++) {
            int blk = w0 + b * 34;
            float d = Float16.toFloat(w.getShort(blk));
            float bs = 0;
            int xb = xOff + b * 32;
            for (int j = 0; j < 32; j++) {
                bs += w.get(blk + 2 + j) * x[xb + j];
            }
            s += d * bs;
        }
        return s;
    }

    /**
     * Q4_0 row: {@code n/32} blocks from byte {@code w0}.
     *
     * <pre>
     *   block (18 bytes): | d: f16 | qs[0] ... qs[15] |
     *   x[j]    = d * ((qs[j] &amp; 0xF) - 8)      j in [0, 16)
     *   x[j+16] = d * ((qs[j] &gt;&gt; 4)  - 8)
     * </pre>
     */
    public static float dotQ4_0(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        return VECTOR_QUANT ? VectorKernels.dotQ4_0(w, w0, x, xOff, n) : dotQ4_0Scalar(w, w0, x, xOff, n);
    }

    public static float dotQ4_0Scalar(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        float s = 0;
        for (int b = 0; b < n / 32; b++) {
            int blk = w0 + b * 18;
            float d = Float16.toFloat(w.getShort(blk));
            float bs = 0;
            int xb = xOff + b * 32;
            for (int j = 0; j < 16; j++) {
                int q = w.get(blk + 2 + j) & 0xFF;
                bs += ((q & 0x0F) - 8) * x[xb + j] + ((q >>> 4) - 8) * x[xb + j + 16];
            }
            s += d * bs;
        }
        return s;
    }
}
