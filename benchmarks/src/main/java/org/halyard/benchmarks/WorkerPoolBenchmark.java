package org.halyard.benchmarks;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
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
 * What handing a loop to the worker threads costs: a loop whose chunks do (almost) nothing, as
 * a decode step runs about four per layer.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class WorkerPoolBenchmark {

    @Param({"2"})
    public int threads;

    private ExecutorService executor;
    private WorkerPool pool;
    private final long[] sink = new long[64 * 16];
    private final Parallel.Body body = (chunk, from, to) -> sink[chunk * 16] += to - from;

    @Setup
    public void setUp() {
        executor = Executors.newFixedThreadPool(threads - 1);
        pool = new WorkerPool(executor, threads);
    }

    @TearDown
    public void tearDown() throws InterruptedException {
        pool.close();
        executor.shutdown();
        executor.awaitTermination(5, TimeUnit.SECONDS);
    }

    @Benchmark
    public long[] emptyLoop() {
        pool.forRange(1000, body);
        return sink;
    }
}
