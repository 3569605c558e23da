package org.halyard.engine.cpu.cli;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.kernel.WorkerPool;

/** The command line's worker threads (as {@code CpuEngine} owns them inside Karaf). */
final class EngineThreads implements AutoCloseable {

    private final ExecutorService executor;
    private final WorkerPool pool;

    EngineThreads(int threads) {
        this.executor = Executors.newFixedThreadPool(Math.max(1, threads - 1), r -> {
            Thread t = new Thread(r, "halyard-cli-worker");
            t.setDaemon(true);
            return t;
        });
        this.pool = new WorkerPool(executor, threads);
    }

    Parallel parallel() {
        return pool;
    }

    @Override
    public void close() throws InterruptedException {
        pool.close();
        executor.shutdown();
        if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
            executor.shutdownNow();
        }
    }
}
