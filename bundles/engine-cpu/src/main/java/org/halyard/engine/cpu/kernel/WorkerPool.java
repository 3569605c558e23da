package org.halyard.engine.cpu.kernel;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@link Parallel} on an executor owned by someone else (the engine component). Chunks are
 * claimed from a shared counter by the caller and by helper tasks alike, so a loop always
 * finishes: when the executor is shut down (the engine bundle is being updated while a model
 * it loaded keeps serving), no helper starts and the caller runs every chunk itself.
 */
public final class WorkerPool implements Parallel {

    private final ExecutorService executor;
    private final int threads;
    private final int maxChunks;

    /**
     * @param executor runs the helper tasks; may be shut down at any time
     * @param threads threads that work on a loop, counting the caller
     */
    public WorkerPool(ExecutorService executor, int threads) {
        this.executor = executor;
        this.threads = Math.max(1, threads);
        this.maxChunks = this.threads == 1 ? 1 : this.threads * 4;
    }

    @Override
    public int maxChunks() {
        return maxChunks;
    }

    /** Threads that work on a loop, counting the caller. */
    public int threads() {
        return threads;
    }

    @Override
    public void forRange(int n, Body body) {
        if (n <= 0) {
            return;
        }
        int chunks = Math.min(n, maxChunks);
        if (chunks == 1 || executor.isShutdown()) {
            runAll(n, chunks, body);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(chunks);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> claim(n, chunks, body, next, done, failure);
        int helpers = Math.min(threads - 1, chunks - 1);
        for (int i = 0; i < helpers; i++) {
            try {
                executor.execute(worker);
            } catch (RejectedExecutionException shutDown) {
                break; // the caller claims what the helpers would have
            }
        }
        worker.run();
        // every chunk has been claimed, by the caller or by a helper that is running it
        boolean interrupted = false;
        while (true) {
            try {
                done.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    private static void claim(int n, int chunks, Body body, AtomicInteger next, CountDownLatch done,
            AtomicReference<Throwable> failure) {
        int c;
        while ((c = next.getAndIncrement()) < chunks) {
            try {
                if (failure.get() == null) {
                    body.run(c, from(n, chunks, c), from(n, chunks, c + 1));
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                done.countDown();
            }
        }
    }

    private static void runAll(int n, int chunks, Body body) {
        for (int c = 0; c < chunks; c++) {
            body.run(c, from(n, chunks, c), from(n, chunks, c + 1));
        }
    }

    private static int from(int n, int chunks, int c) {
        return (int) ((long) n * c / chunks);
    }
}
