package org.halyard.benchmarks;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.kernel.WorkerPool;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Memory read bandwidth as the engine's threads see it: {@code threads} workers of the engine's
 * {@link WorkerPool} sum a 1 GiB float array (far larger than any cache) with vector loads, the
 * access pattern of a decode step streaming its weights. GB/s = 1.074 / (seconds per op).
 *
 * <pre>
 *   ./halyard jmh MemoryBandwidthBenchmark -p threads=1,2
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class MemoryBandwidthBenchmark {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

    @Param({"1", "2"})
    public int threads;

    private float[] data;
    private ExecutorService executor;
    private WorkerPool pool;
    private final float[] sums = new float[64 * 16];
    private final Parallel.Body body = (chunk, from, to) -> sums[chunk * 16] += sum(from, to);

    @Setup
    public void setUp() {
        data = new float[1 << 28]; // 1 GiB
        for (int i = 0; i < data.length; i += 1024) {
            data[i] = 1;
        }
        executor = Executors.newFixedThreadPool(Math.max(1, threads - 1));
        pool = new WorkerPool(executor, threads);
    }

    @TearDown
    public void tearDown() throws InterruptedException {
        pool.close();
        executor.shutdown();
        executor.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** Sums 64-float blocks {@code [from, to)} of the array. */
    private float sum(int from, int to) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = a;
        FloatVector c = a;
        FloatVector d = a;
        for (int i = from * 64; i < to * 64; i += 32) {
            a = a.add(FloatVector.fromArray(F, data, i));
            b = b.add(FloatVector.fromArray(F, data, i + 8));
            c = c.add(FloatVector.fromArray(F, data, i + 16));
            d = d.add(FloatVector.fromArray(F, data, i + 24));
        }
        return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    public float[] readOneGiB() {
        pool.forRange(data.length / 64, body);
        return sums;
    }
}
