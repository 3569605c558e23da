package org.halyard.benchmarks;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.halyard.engine.cpu.kernel.Kernels;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The element-wise kernels of one token at llama-135m sizes: RMSNorm of 576 values, softmax of
 * 512 attention scores, SwiGLU of 1536, RoPE of one 64-wide head in both layouts.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ElementwiseBenchmark {

    private final float[] x = new float[1536];
    private final float[] y = new float[1536];
    private final float[] weight = new float[576];
    private final float[] scores = new float[512];
    private final float[] cos = new float[32];
    private final float[] sin = new float[32];

    @Setup
    public void setUp() {
        Random r = new Random(1);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
            y[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < weight.length; i++) {
            weight[i] = 1f + 0.1f * (float) r.nextGaussian();
        }
        for (int i = 0; i < cos.length; i++) {
            double a = r.nextDouble() * Math.PI;
            cos[i] = (float) Math.cos(a);
            sin[i] = (float) Math.sin(a);
        }
    }

    @Benchmark
    public float[] rmsnorm() {
        Kernels.rmsnorm(y, 0, x, 0, weight, 576, 1e-5f);
        return y;
    }

    @Benchmark
    public float[] softmax() {
        for (int i = 0; i < scores.length; i++) {
            scores[i] = x[i];
        }
        Kernels.softmax(scores, 0, scores.length, 0.125f);
        return scores;
    }

    @Benchmark
    public float[] swiglu() {
        System.arraycopy(x, 0, y, 0, 1536);
        Kernels.swiglu(y, 0, x, 0, 1536);
        return y;
    }

    @Benchmark
    public float[] ropeAdjacent() {
        Kernels.rope(y, 0, cos, sin, 0, 32, true);
        return y;
    }

    @Benchmark
    public float[] ropeRotateHalf() {
        Kernels.rope(y, 0, cos, sin, 0, 32, false);
        return y;
    }
}
