package org.halyard.engine.cpu.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Random;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.gguf.GGUFWriter;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.GGMLType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Vector API kernels against their scalar references, for every encoding, at many lengths and
 * offsets (whole vectors, tails, unaligned starts); and the scalar references against a dot
 * product in double over the decoded values.
 */
class KernelTest {

    @TempDir
    Path tmp;

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    @Test
    void floatArrayDotAndAxpyMatchTheScalarReference() {
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
            for (int i = 0; i < y1.length; i++) {
                assertEquals(y1[i], y2[i], 1e-5f);
            }
        }
    }

    @Test
    void everyEncodingsVectorKernelMatchesItsScalarReferenceAndTheDecodedValues() throws Exception {
        Random r = new Random(2);
        int rows = 5;
        int cols = 576;
        float[] values = random(r, rows * cols);
        GGUFWriter w = new GGUFWriter();
        for (GGMLType t : GGMLType.values()) {
            w.tensor(t.name(), t, new long[] {cols, rows}, values);
        }
        Path file = tmp.resolve("kernels.gguf");
        w.write(file);
        GGUFFile f = GGUFFile.read(file);
        float[] x = random(r, cols + 11);
        for (GGMLType t : GGMLType.values()) {
            FloatTensor tensor = f.tensor(t.name());
            ByteBuffer bytes = f.map(f.tensorInfos().get(t.name())).order(ByteOrder.LITTLE_ENDIAN);
            for (int row = 0; row < rows; row++) {
                for (int n : new int[] {32, 64, 96, 544, 576}) {
                    long off = (long) row * cols;
                    int w0 = (int) t.bytes(off);
                    double decoded = 0;
                    for (int i = 0; i < n; i++) {
                        decoded += (double) tensor.getFloat(off + i) * x[7 + i];
                    }
                    float scalar = switch (t) {
                        case F32 -> Kernels.dotF32Scalar(bytes, w0, x, 7, n);
                        case F16 -> Kernels.dotF16Scalar(bytes, w0, x, 7, n);
                        case BF16 -> Kernels.dotBF16Scalar(bytes, w0, x, 7, n);
                        case Q8_0 -> Kernels.dotQ8_0Scalar(bytes, w0, x, 7, n);
                        case Q4_0 -> Kernels.dotQ4_0Scalar(bytes, w0, x, 7, n);
                    };
                    float vector = switch (t) {
                        case F32 -> VectorKernels.dotF32(bytes, w0, x, 7, n);
                        case F16 -> Kernels.dotF16(bytes, w0, x, 7, n);
                        case BF16 -> VectorKernels.dotBF16(bytes, w0, x, 7, n);
                        case Q8_0 -> VectorKernels.dotQ8_0(bytes, w0, x, 7, n);
                        case Q4_0 -> VectorKernels.dotQ4_0(bytes, w0, x, 7, n);
                    };
                    String what = t + " row " + row + " n " + n;
                    assertEquals(decoded, scalar, 1e-4 * n, what + " scalar vs decoded");
                    assertEquals(scalar, vector, 1e-4f * n, what + " vector vs scalar");
                    assertEquals(scalar, tensor.dot(off, x, 7, n), 1e-4f * n, what + " tensor.dot");
                }
            }
            // copyTo decodes what getFloat does
            float[] row = new float[cols];
            tensor.copyTo(cols, row, 0, cols);
            for (int i = 0; i < cols; i++) {
                assertEquals(tensor.getFloat(cols + i), row[i], 0f, t + " copyTo");
            }
            // and the encodings are close to the values written
            float tolerance = switch (t) {
                case F32 -> 0f;
                case F16 -> 2e-3f;
                case BF16 -> 2e-2f;
                case Q8_0 -> 3e-2f;
                case Q4_0 -> 0.5f;
            };
            for (int i = 0; i < values.length; i += 37) {
                assertEquals(values[i], tensor.getFloat(i), tolerance * Math.max(1, Math.abs(values[i])), t + " value " + i);
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
    }

    @Test
    void workerPoolRunsEveryChunkOnceAndFallsBackToTheCallerWhenShutDown() throws Exception {
        java.util.concurrent.ExecutorService ex = java.util.concurrent.Executors.newFixedThreadPool(3);
        WorkerPool pool = new WorkerPool(ex, 4);
        int[] hits = new int[1000];
        pool.forRange(1000, (c, from, to) -> {
            for (int i = from; i < to; i++) {
                hits[i]++;
            }
        });
        for (int h : hits) {
            assertEquals(1, h);
        }
        ex.shutdown();
        assertTrue(ex.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS));
        Thread caller = Thread.currentThread();
        pool.forRange(100, (c, from, to) -> assertEquals(caller, Thread.currentThread(), "runs on the caller"));
        // a failure in a chunk reaches the caller
        java.util.concurrent.ExecutorService ex2 = java.util.concurrent.Executors.newFixedThreadPool(2);
        WorkerPool pool2 = new WorkerPool(ex2, 3);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> pool2.forRange(50, (c, from, to) -> {
                    if (from > 20) {
                        throw new IllegalStateException("boom");
                    }
                }));
        assertEquals("boom", e.getMessage());
        ex2.shutdownNow();
    }
}
