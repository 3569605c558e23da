package org.halyard.benchmarks;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.halyard.engine.cpu.gguf.GGUFWriter;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.GGMLType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One thread's matrix product: {@code rows x cols} weights of each encoding times {@code tokens}
 * activation vectors, each weight read once for all tokens. Shapes of the llama-135m test
 * model: 1536 x 576 (a feed-forward gate, 0.9 M weights: in L2/L3) and 49152 x 576 (the output
 * head, 28 M weights: streamed from memory, the decode case). Divide the bytes of the matrix
 * by the time for GB/s, or {@code 2 * rows * cols * tokens} for FLOP/s.
 *
 * <pre>
 *   ./halyard jmh MatmulBenchmark -p type=Q8_0 -p rows=49152 -p tokens=1
 *   ./halyard jmh MatmulBenchmark -jvmArgsAppend -Dhalyard.vector.bits=0      (the scalar references)
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class MatmulBenchmark {

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    public String type;

    @Param({"1536", "49152"})
    public int rows;

    @Param({"576"})
    public int cols;

    @Param({"1", "8", "64"})
    public int tokens;

    private FloatTensor w;
    private float[] x;
    private float[] out;

    @Setup
    public void setUp() throws Exception {
        Random r = new Random(42);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) r.nextGaussian() * 0.02f;
        }
        GGMLType t = GGMLType.fromName(type);
        w = FloatTensor.of(t, GGUFWriter.encode(t, values), values.length, cols);
        x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        out = new float[tokens * rows];
    }

    @Benchmark
    public float[] matmul() {
        w.matmul(0, 0, rows, x, 0, cols, tokens, out, 0, rows, false);
        return out;
    }
}
