package org.halyard.engine.cpu.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.halyard.engine.cpu.gguf.GGUFWriter;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.GGMLType;
import org.junit.jupiter.api.Test;

/**
 * The Vector API kernels against their scalar references: matrix products for every encoding
 * at many shapes (whole tiles, remainder rows and tokens, vector tails, offsets, accumulation),
 * the element-wise kernels, and the scalar references against products in double over the
 * decoded values. Vector results must not depend on the batch: a token's product is bit for bit
 * the same alone and among others, whatever the row split.
 */
class KernelTest {

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static FloatTensor tensor(GGMLType type, float[] values, int cols) throws Exception {
        return FloatTensor.of(type, GGUFWriter.encode(type, values), values.length, cols);
    }

    @Test
    void vectorsAreOnInTheTestJvm() {
        // the test JVM runs with --add-modules jdk.incubator.vector: the vector bodies are what is tested
        assertTrue(Kernels.VECTOR_BITS >= 256, "vector width " + Kernels.VECTOR_BITS);
    }

    @Test
    void floatArrayDotAxpyAndAddMatchTheScalarReference() {
        Random r = new Random(1);
        for (int n : new int[] {1, 7, 8, 15, 16, 17, 31, 64, 100, 576}) {
            float[] a = random(r, n + 5);
            float[] b = random(r, n + 3);
            float ref = Kernels.dotScalar(a, 5, b, 3, n);
            assertEquals(ref, VectorKernels.dot(a, 5, b, 3, n), 1e-4f * n, "dot n=" + n);
            assertEquals(ref, Kernels.dot(a, 5, b, 3, n), 1e-4f * n);
            float[] y1 = random(r, n + 2);
            float[] y2 = y1.clone();
            Kernels.axpyScalar(0.7f, a, 1, y1, 2, n);
            VectorKernels.axpy(0.7f, a, 1, y2, 2, n);
            assertArrayEquals(y1, y2, 1e-5f, "axpy n=" + n);
            Kernels.addScalar(a, 3, y1, 1, n);
            VectorKernels.add(a, 3, y2, 1, n);
            assertArrayEquals(y1, y2, 1e-5f, "add n=" + n);
        }
    }

    @Test
    void elementWiseKernelsMatchTheScalarReferences() {
        Random r = new Random(3);
        for (int n : new int[] {1, 5, 16, 19, 64, 100, 576, 1537}) {
            float[] x = random(r, n + 4);
            float[] weight = random(r, n);
            float[] a = new float[n + 2];
            float[] b = new float[n + 2];
            Kernels.rmsnormScalar(a, 2, x, 4, weight, n, 1e-5f);
            VectorKernels.rmsnorm(b, 2, x, 4, weight, n, 1e-5f);
            assertArrayEquals(a, b, 1e-5f, "rmsnorm n=" + n);

            float[] s1 = random(r, n + 3);
            for (int i = 0; i < s1.length; i++) {
                s1[i] *= 20; // attention scores span a wide range
            }
            float[] s2 = s1.clone();
            Kernels.softmaxScalar(s1, 3, n, 0.125f);
            VectorKernels.softmax(s2, 3, n, 0.125f);
            assertArrayEquals(s1, s2, 1e-6f, "softmax n=" + n);
            double sum = 0;
            for (int i = 3; i < n + 3; i++) {
                sum += s2[i];
            }
            assertEquals(1.0, sum, 1e-5, "softmax sums to 1");

            float[] g1 = random(r, n);
            for (int i = 0; i < n; i++) {
                g1[i] *= 8; // silu far into both tails
            }
            float[] g2 = g1.clone();
            float[] up = random(r, n + 1);
            Kernels.swigluScalar(g1, 0, up, 1, n);
            VectorKernels.swiglu(g2, 0, up, 1, n);
            for (int i = 0; i < n; i++) {
                assertEquals(g1[i], g2[i], 1e-5f * Math.max(1, Math.abs(g1[i])), "swiglu n=" + n + " i=" + i);
            }
        }
    }

    @Test
    void ropeMatchesTheScalarReferenceInBothLayouts() {
        Random r = new Random(4);
        for (int half : new int[] {2, 16, 32, 40, 64}) {
            float[] cos = random(r, half + 3);
            float[] sin = random(r, half + 3);
            for (boolean adjacent : new boolean[] {true, false}) {
                float[] v1 = random(r, 2 * half + 5);
                float[] v2 = v1.clone();
                Kernels.ropeScalar(v1, 5, cos, sin, 3, half, adjacent);
                VectorKernels.rope(v2, 5, cos, sin, 3, half, adjacent);
                assertArrayEquals(v1, v2, 1e-6f, "rope half=" + half + " adjacent=" + adjacent);
            }
        }
    }

    @Test
    void everyEncodingsMatrixProductMatchesItsScalarReferenceAndTheDecodedValues() throws Exception {
        Random r = new Random(2);
        for (GGMLType type : GGMLType.values()) {
            // quantised rows are whole blocks; the others also get lengths with vector tails
            int[] widths = type.blockSize() == 32 ? new int[] {32, 96, 576} : new int[] {5, 44, 64, 576};
            for (int cols : widths) {
                // 15 rows stay row-major; 48 rows are packed in three panels
                for (int tensorRows : new int[] {15, 48}) {
                    FloatTensor w = tensor(type, random(r, tensorRows * cols), cols);
                    assertEquals(tensorRows == 48, w.packed(), type + " packing");
                    // views: inside one panel and across panels (partial panels at both ends),
                    // and two whole panels (the paired decode tile)
                    int[][] views = tensorRows == 48 ? new int[][] {{2, 1, 13}, {3, 0, 40}, {16, 0, 32}}
                            : new int[][] {{2, 1, 12}};
                    for (int[] view : views) {
                        check(w, view[0], view[1], view[2], cols, r);
                    }
                }
            }
        }
    }

    private static void check(FloatTensor w, int rowStart, int rowFrom, int rowTo, int cols, Random r) {
        for (int tokens : new int[] {1, 2, 3, 4, 5, 9}) {
            int xStride = cols + 3;
            float[] x = random(r, 1 + tokens * xStride);
            for (boolean accumulate : new boolean[] {false, true}) {
                int outStride = rowTo + 1;
                float[] init = random(r, 2 + tokens * outStride);
                float[] scalar = init.clone();
                float[] vector = init.clone();
                w.matmulScalar(rowStart, rowFrom, rowTo, x, 1, xStride, tokens, scalar, 2, outStride, accumulate);
                w.matmul(rowStart, rowFrom, rowTo, x, 1, xStride, tokens, vector, 2, outStride, accumulate);
                for (int t = 0; t < tokens; t++) {
                    for (int row = 0; row < outStride; row++) {
                        int o = 2 + t * outStride + row;
                        String what = w.type() + (w.packed() ? " packed" : " row-major") + " cols " + cols + " view "
                                + rowStart + "+[" + rowFrom + "," + rowTo + ") tokens " + tokens + " row " + row
                                + " token " + t + (accumulate ? " accumulating" : "");
                        if (row < rowFrom || row >= rowTo) {
                            assertEquals(init[o], vector[o], 0f, what + ": rows outside the range stay");
                            continue;
                        }
                        double decoded = accumulate ? init[o] : 0;
                        for (int i = 0; i < cols; i++) {
                            decoded += (double) w.get(rowStart + row, i) * x[1 + t * xStride + i];
                        }
                        assertEquals(decoded, scalar[o], 1e-4 * cols, what + ": scalar vs decoded");
                        assertEquals(scalar[o], vector[o], 1e-4f * cols, what + ": vector vs scalar");
                    }
                }
            }
        }
    }

    @Test
    void packingKeepsEveryElement() throws Exception {
        Random r = new Random(6);
        int cols = 64;
        float[] values = random(r, 32 * cols);
        for (GGMLType type : GGMLType.values()) {
            FloatTensor plain = FloatTensor.of(type, GGUFWriter.encode(type, values), values.length, values.length);
            FloatTensor packed = FloatTensor.of(type, GGUFWriter.encode(type, values), values.length, cols);
            assertTrue(packed.packed() && !plain.packed(), type.toString());
            float[] a = new float[values.length];
            float[] b = new float[values.length];
            plain.copyTo(0, a, 0, a.length);
            packed.copyTo(0, b, 0, b.length);
            assertArrayEquals(a, b, 0f, type.toString());
            for (int i = 0; i < values.length; i += 31) {
                assertEquals(plain.getFloat(i), packed.get(i / cols, i % cols), 0f);
            }
            float tolerance = switch (type) {
                case F32 -> 0f;
                case F16 -> 2e-3f;
                case BF16 -> 2e-2f;
                case Q8_0 -> 3e-2f;
                case Q4_0 -> 0.5f;
            };
            for (int i = 0; i < values.length; i += 37) {
                assertEquals(values[i], a[i], tolerance * Math.max(1, Math.abs(values[i])), type + " value " + i);
            }
        }
    }

    @Test
    void aTokensProductDoesNotDependOnTheBatchOrTheRowSplit() throws Exception {
        Random r = new Random(5);
        int cols = 576;
        for (int rows : new int[] {13, 80}) {
            for (GGMLType type : GGMLType.values()) {
                FloatTensor w = tensor(type, random(r, rows * cols), cols);
                int tokens = 7;
                float[] x = random(r, tokens * cols);
                float[] batched = new float[tokens * rows];
                // split where threads split: at a panel boundary (rows of a packed matrix off a
                // boundary go through the scalar reference)
                int split = rows > 16 ? 32 : 5;
                w.matmul(0, 0, split, x, 0, cols, tokens, batched, 0, rows, false);
                w.matmul(0, split, rows, x, 0, cols, tokens, batched, 0, rows, false);
                for (int t = 0; t < tokens; t++) {
                    float[] alone = new float[rows];
                    w.matmul(0, 0, rows, x, t * cols, cols, 1, alone, 0, rows, false);
                    float[] panels = new float[rows];
                    for (int row = 0; row < rows; row += 16) {
                        w.matmul(0, row, Math.min(rows, row + 16), x, t * cols, cols, 1, panels, 0, rows, false);
                    }
                    float[] fromBatch = java.util.Arrays.copyOfRange(batched, t * rows, (t + 1) * rows);
                    assertArrayEquals(fromBatch, alone, 0f, type + " rows " + rows + " token " + t);
                    assertArrayEquals(fromBatch, panels, 0f, type + " rows " + rows + " token " + t + " by panels");
                }
            }
        }
    }

    @Test
    void infiniteHalvesAndScalesUseTheExactScalarDecoding() throws Exception {
        int cols = 64;
        float[] x = new float[cols];
        java.util.Arrays.fill(x, 1f);
        for (GGMLType type : new GGMLType[] {GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0}) {
            for (int rows : new int[] {2, 16}) {
                float[] v = new float[rows * cols];
                java.util.Arrays.fill(v, 0.5f);
                FloatTensor w = tensor(type, v, cols);
                java.nio.ByteBuffer bytes = GGUFWriter.encode(type, v);
                if (type == GGMLType.F16) {
                    bytes.putShort(3 * 2, (short) 0x7C00); // element 3 of row 0: +infinity
                } else {
                    bytes.putShort(0, (short) 0x7C00); // row 0's first block scale: +infinity
                }
                w = FloatTensor.of(type, bytes, v.length, cols);
                float[] out = new float[rows];
                w.matmul(0, 0, rows, x, 0, cols, 1, out, 0, 1, false);
                assertTrue(Float.isInfinite(out[0]) || Float.isNaN(out[0]), type + " rows " + rows + ": " + out[0]);
                assertEquals(type == GGMLType.Q4_0 ? 32f : 32f, out[1], 0.5f, type + " rows " + rows);
            }
        }
    }

    @Test
    void halfFloatConversionsRoundTrip() {
        for (int bits = 0; bits < 65536; bits++) {
            float f = Float16.toFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertEquals((short) bits, Float16.fromFloat(f), "half " + Integer.toHexString(bits));
            }
        }
        assertEquals(1f, Float16.toFloat(Float16.fromFloat(1f)));
        assertEquals(65504f, Float16.toFloat((short) 0x7BFF));
        assertTrue(Float.isInfinite(Float16.toFloat(Float16.fromFloat(1e6f))));
        assertEquals(3.140625f, Float16.bf16ToFloat(Float16.bf16FromFloat(3.14159f)));
        assertEquals((short) 0x3C00, Float16.shortAt(new byte[] {0, 0x3C}, 0));
    }

    @Test
    void theVectorHalfFloatDecodingIsExactForEveryFiniteHalf() {
        // every finite half (normal and subnormal) through the F16 kernel, one weight per row
        short[] all = new short[65536];
        int n = 0;
        for (int bits = 0; bits < 65536; bits++) {
            if (!Float16.isSpecial((short) bits)) {
                all[n++] = (short) bits;
            }
        }
        n -= n % 8;
        float[] identity = new float[64]; // token t's activations pick element t of each 8-wide row
        for (int t = 0; t < 8; t++) {
            identity[t * 8 + t] = 1f;
        }
        int rows = n / 8;
        float[] out = new float[8 * rows];
        VectorKernels.matmulF16(all, 0, 8, 0, rows, identity, 0, 8, 8, out, 0, rows, false);
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < 8; t++) {
                short h = all[r * 8 + t];
                assertEquals(Float16.toFloat(h), out[t * rows + r], 0f, "half " + Integer.toHexString(h & 0xFFFF));
            }
        }
    }
}
