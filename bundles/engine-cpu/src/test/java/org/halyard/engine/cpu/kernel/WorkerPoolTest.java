package org.halyard.engine.cpu.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The worker pool: every chunk once, helpers really help, failures reach the caller, closing falls back. */
class WorkerPoolTest {

    private ExecutorService executor;
    private WorkerPool pool;

    private WorkerPool pool(int threads) {
        executor = Executors.newFixedThreadPool(threads - 1);
        pool = new WorkerPool(executor, threads);
        return pool;
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (pool != null) {
            pool.close();
        }
        if (executor != null) {
            executor.shutdown();
            assertTrue(executor.awaitTermination(5, TimeUnit.SECONDS), "helpers leave when the pool closes");
        }
    }

    @Test
    void everyIndexRunsOnceInEveryLoopOfAManyLoopRun() {
        WorkerPool p = pool(4);
        assertEquals(16, p.maxChunks());
        int[] hits = new int[1000];
        for (int loop = 0; loop < 2000; loop++) {
            int n = 1 + loop % 1000;
            p.forRange(n, (c, from, to) -> {
                for (int i = from; i < to; i++) {
                    hits[i]++;
                }
            });
        }
        long total = 0;
        for (int h : hits) {
            total += h;
        }
        long expected = 0;
        for (int loop = 0; loop < 2000; loop++) {
            expected += 1 + loop % 1000;
        }
        assertEquals(expected, total);
    }

    @Test
    void chunksAreContiguousAndNumberedBelowMaxChunks() {
        WorkerPool p = pool(3);
        int[] owner = new int[100];
        p.forRange(100, (c, from, to) -> {
            assertTrue(c >= 0 && c < p.maxChunks());
            for (int i = from; i < to; i++) {
                owner[i] = c;
            }
        });
        for (int i = 1; i < 100; i++) {
            assertTrue(owner[i] == owner[i - 1] || owner[i] == owner[i - 1] + 1, "chunk " + owner[i] + " at " + i);
        }
        assertEquals(p.maxChunks() - 1, owner[99]);
    }

    @Test
    void helpersWorkOnLoops() throws Exception {
        WorkerPool p = pool(2);
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (seen.size() < 2 && System.nanoTime() < deadline) {
            p.forRange(8, (c, from, to) -> {
                seen.add(Thread.currentThread());
                long until = System.nanoTime() + 200_000;
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            });
        }
        assertEquals(2, seen.size(), "the caller and the helper both ran chunks");
    }

    @Test
    void aFailureInAChunkReachesTheCallerAndThePoolKeepsWorking() {
        WorkerPool p = pool(3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.forRange(50, (c, from, to) -> {
            if (from > 20) {
                throw new IllegalStateException("boom");
            }
        }));
        assertEquals("boom", e.getMessage());
        AssertionError err = assertThrows(AssertionError.class, () -> p.forRange(50, (c, from, to) -> {
            throw new AssertionError("error");
        }));
        assertEquals("error", err.getMessage());
        AtomicInteger sum = new AtomicInteger();
        p.forRange(50, (c, from, to) -> sum.addAndGet(to - from));
        assertEquals(50, sum.get());
    }

    @Test
    void aClosedPoolRunsEverythingOnTheCaller() throws Exception {
        WorkerPool p = pool(4);
        p.forRange(100, (c, from, to) -> { });
        p.close();
        executor.shutdown();
        assertTrue(executor.awaitTermination(5, TimeUnit.SECONDS));
        Thread caller = Thread.currentThread();
        AtomicInteger sum = new AtomicInteger();
        p.forRange(100, (c, from, to) -> {
            assertEquals(caller, Thread.currentThread(), "runs on the caller");
            sum.addAndGet(to - from);
        });
        assertEquals(100, sum.get());
    }

    @Test
    void aPoolWhoseExecutorRejectsHelpersStillRunsLoops() {
        ExecutorService dead = Executors.newSingleThreadExecutor();
        dead.shutdown();
        WorkerPool p = new WorkerPool(dead, 3);
        AtomicInteger sum = new AtomicInteger();
        p.forRange(30, (c, from, to) -> sum.addAndGet(to - from));
        assertEquals(30, sum.get());
        p.close();
    }

    @Test
    void concurrentCallersAndNestedLoopsEachGetTheirLoopDone() throws Exception {
        WorkerPool p = pool(3);
        int callers = 4;
        CountDownLatch start = new CountDownLatch(1);
        AtomicLong total = new AtomicLong();
        ExecutorService clients = Executors.newFixedThreadPool(callers);
        try {
            for (int i = 0; i < callers; i++) {
                clients.execute(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int loop = 0; loop < 300; loop++) {
                        p.forRange(10, (c, from, to) -> {
                            // a loop inside a loop runs on its caller
                            p.forRange(3, (c2, f2, t2) -> total.addAndGet(t2 - f2));
                            total.addAndGet(100L * (to - from));
                        });
                    }
                });
            }
            start.countDown();
        } finally {
            clients.shutdown();
            assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
        }
        // each outer loop: 100 per index, and 3 from the nested loop of each of its chunks
        assertEquals(callers * 300L * (10 * 100 + Math.min(10, p.maxChunks()) * 3), total.get());
        assertFalse(Thread.currentThread().isInterrupted());
    }
}
