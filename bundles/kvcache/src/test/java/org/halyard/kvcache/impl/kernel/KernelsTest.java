package org.halyard.kvcache.impl.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Each vector kernel against its scalar reference, on heap arrays and on little-endian direct
 * buffers, with lengths that leave scalar tails, at offsets that are not vector-aligned.
 */
class KernelsTest {

    private static final int[] LENGTHS = {1, 3, 7, 8, 15, 16, 17, 32, 33, 64, 100, 128};
    private final Random r = new Random(42);

    private float[] floats(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void theVectorWidthFollowsTheSwitch() {
        // the test JVM runs with --add-modules jdk.incubator.vector, as the container does
        String bits = System.getProperty(Vectors.BITS_PROPERTY);
        if (bits == null) {
            assertEquals(true, Vectors.ENABLED, Vectors.describe());
        } else {
            assertEquals(Integer.parseInt(bits), Vectors.BITS, Vectors.describe());
            assertEquals(!"0".equals(bits), Vectors.ENABLED);
        }
    }

    @Test
    void f32KernelsMatchTheScalarReference() {
        for (int n : LENGTHS) {
            float[] q = floats(n + 3);
            float[] k = floats(n + 5);
            ByteBuffer kb = direct(4 * (n + 5));
            for (int i = 0; i < k.length; i++) {
                kb.putFloat(4 * i, k[i]);
            }
            float ref = ScalarKernels.dotF32(q, 3, k, 5, n);
            assertEquals(ref, Kernels.dotF32(q, 3, k, 5, n), 1e-4f * n, "dot n=" + n);
            assertEquals(ref, Kernels.dotF32(q, 3, kb, 20, n), 1e-4f * n, "buffer dot n=" + n);
            assertEquals(ref, ScalarKernels.dotF32(q, 3, kb, 20, n), 1e-4f * n);

            float[] out = floats(n + 2);
            float[] expected = out.clone();
            float[] viaBuffer = out.clone();
            ScalarKernels.axpyF32(0.75f, k, 5, expected, 2, n);
            Kernels.axpyF32(0.75f, k, 5, out, 2, n);
            Kernels.axpyF32(0.75f, kb, 20, viaBuffer, 2, n);
            assertArrayEquals(expected, out, 1e-5f, "axpy n=" + n);
            assertArrayEquals(expected, viaBuffer, 1e-5f, "buffer axpy n=" + n);
        }
    }

    @Test
    void f16KernelsMatchTheScalarReference() {
        for (int n : LENGTHS) {
            float[] q = floats(n + 1);
            short[] k = new short[n + 2];
            ByteBuffer kb = direct(2 * (n + 2));
            for (int i = 0; i < k.length; i++) {
                // every few values a subnormal, an infinity-free extreme, a negative zero
                float x = i % 11 == 3 ? 0x1p-20f : i % 13 == 5 ? -0f : i % 17 == 7 ? -60000f : (float) r.nextGaussian();
                k[i] = Half.fromFloat(x);
                kb.putShort(2 * i, k[i]);
            }
            float ref = ScalarKernels.dotF16(q, 1, k, 2, n);
            float tol = 1e-4f * n * (1 + Math.abs(ref));
            assertEquals(ref, Kernels.dotF16(q, 1, k, 2, n), tol, "dot n=" + n);
            assertEquals(ref, Kernels.dotF16(q, 1, kb, 4, n), tol, "buffer dot n=" + n);

            float[] out = floats(n);
            float[] expected = out.clone();
            float[] viaBuffer = out.clone();
            ScalarKernels.axpyF16(-1.5f, k, 2, expected, 0, n);
            Kernels.axpyF16(-1.5f, k, 2, out, 0, n);
            Kernels.axpyF16(-1.5f, kb, 4, viaBuffer, 0, n);
            assertArrayEquals(expected, out, 1e-3f, "axpy n=" + n);
            assertArrayEquals(expected, viaBuffer, 1e-3f, "buffer axpy n=" + n);
        }
    }

    @Test
    void f16VectorConversionHandlesInfinityAndNaN() {
        short[] k = new short[16];
        k[0] = (short) 0x7c00;
        float[] q = new float[16];
        q[0] = 1f;
        assertEquals(Float.POSITIVE_INFINITY, Kernels.dotF16(q, 0, k, 0, 16));
        k[0] = (short) 0xfc00;
        assertEquals(Float.NEGATIVE_INFINITY, Kernels.dotF16(q, 0, k, 0, 16));
        k[0] = (short) 0x7e00;
        assertEquals(Float.NaN, Kernels.dotF16(q, 0, k, 0, 16));
    }

    @Test
    void int8KernelsMatchTheScalarReference() {
        for (int n : LENGTHS) {
            float[] q = floats(n + 2);
            byte[] k = new byte[n + 3];
            r.nextBytes(k);
            k[0] = -128;
            ByteBuffer kb = direct(n + 3);
            kb.put(0, k);
            float ref = ScalarKernels.dotI8(q, 2, k, 3, n);
            float tol = 1e-3f * n * 128;
            assertEquals(ref, Kernels.dotI8(q, 2, k, 3, n), tol, "dot n=" + n);
            assertEquals(ref, Kernels.dotI8(q, 2, kb, 3, n), tol, "buffer dot n=" + n);

            float[] out = floats(n + 4);
            float[] expected = out.clone();
            float[] viaBuffer = out.clone();
            ScalarKernels.axpyI8(0.01f, k, 0, expected, 4, n);
            Kernels.axpyI8(0.01f, k, 0, out, 4, n);
            Kernels.axpyI8(0.01f, kb, 0, viaBuffer, 4, n);
            assertArrayEquals(expected, out, 1e-4f, "axpy n=" + n);
            assertArrayEquals(expected, viaBuffer, 1e-4f, "buffer axpy n=" + n);
        }
    }
}
