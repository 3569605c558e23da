package org.halyard.engine.cpu.kernel;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * {@link Parallel} on long-lived helper loops that run on an executor owned by someone else (the
 * engine component): {@code threads - 1} helpers plus the caller work on every loop. A loop
 * creates no thread, submits no task and allocates nothing: the caller publishes it by bumping
 * an epoch, helpers that spin on the epoch claim chunks from a shared counter, and the caller
 * waits until every chunk has run. Helpers spin for {@code spinNanos} after a loop (steps run
 * hundreds of loops back to back), then park until the next one.
 *
 * <pre>
 *   ctl (64 bits):  | epoch: 32 | chunks: 16 | next chunk: 16 |
 *   a chunk is claimed by a CAS of ctl from (e, c, i) to (e, c, i+1) with i &lt; c; a helper that
 *   read the loop's body while ctl still held (e, c, i) therefore read loop e's body
 * </pre>
 *
 * <p>A loop always finishes: when the pool is closed (the engine bundle is being updated while a
 * model it loaded keeps serving), when helpers never started or when another caller holds the
 * pool (two models stepping at once, or a loop inside a loop), the caller runs every chunk
 * itself.
 */
public final class WorkerPool implements Parallel, AutoCloseable {

    /** Default time a helper spins for the next loop before parking. */
    public static final long DEFAULT_SPIN_NANOS = 200_000;

    private final int threads;
    private final int maxChunks;
    private final long spinNanos;
    private final Helper[] helpers;
    /** Held by the caller whose loop the helpers work on. */
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean closed;

    // the current loop: written by the caller before ctl publishes it
    private volatile Body body;
    private volatile int n;
    private final AtomicLong ctl = new AtomicLong();
    private final AtomicInteger done = new AtomicInteger();
    private volatile Throwable failure;
    /** Epoch of the last loop (caller only, under {@link #busy}). */
    private int epoch;

    /** One helper loop: its thread (once started) and whether it is parked. */
    private static final class Helper {
        volatile Thread thread;
        volatile boolean parked;
    }

    /**
     * Starts {@code threads - 1} helper loops on {@code executor} (each occupies one of its
     * threads until {@link #close()}).
     *
     * @param threads threads that work on a loop, counting the caller
     */
    public WorkerPool(Executor executor, int threads) {
        this(executor, threads, DEFAULT_SPIN_NANOS);
    }

    public WorkerPool(Executor executor, int threads, long spinNanos) {
        this.threads = Math.max(1, threads);
        this.maxChunks = this.threads == 1 ? 1 : Math.min(this.threads * 4, 0xFFFF);
        this.spinNanos = spinNanos;
        this.helpers = new Helper[this.threads - 1];
        for (int i = 0; i < helpers.length; i++) {
            helpers[i] = new Helper();
        }
        for (Helper h : helpers) {
            try {
                executor.execute(() -> help(h));
            } catch (RejectedExecutionException e) {
                break; // fewer helpers: the caller claims their chunks
            }
        }
    }

    @Override
    public int maxChunks() {
        return maxChunks;
    }

    /** Threads that work on a loop, counting the caller. */
    public int threads() {
        return threads;
    }

    /** Stops the helpers (they return to the executor); later loops run on their callers. */
    @Override
    public void close() {
        closed = true;
        for (Helper h : helpers) {
            Thread t = h.thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public void forRange(int n, Body body) {
        if (n <= 0) {
            return;
        }
        int chunks = Math.min(n, maxChunks);
        if (chunks == 1 || closed || !busy.compareAndSet(false, true)) {
            runAll(n, chunks, body);
            return;
        }
        Throwable t;
        try {
            this.body = body;
            this.n = n;
            failure = null;
            done.set(0);
            int e = ++epoch;
            ctl.set((long) e << 32 | (long) chunks << 16);
            for (Helper h : helpers) {
                if (h.parked) {
                    LockSupport.unpark(h.thread);
                }
            }
            claim(e);
            // every chunk is claimed: wait for the helpers still running one
            int spins = 0;
            while (done.get() < chunks) {
                if (++spins < 1 << 12) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield(); // a helper lost its core: let it finish
                }
            }
            t = failure;
            this.body = null;
        } finally {
            busy.set(false);
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error err) {
            throw err;
        }
        if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    /** Claims and runs chunks of loop {@code e} until none is left. */
    private void claim(int e) {
        while (true) {
            long v = ctl.get();
            int chunks = (int) (v >>> 16) & 0xFFFF;
            int c = (int) v & 0xFFFF;
            if ((int) (v >>> 32) != e || c >= chunks) {
                return;
            }
            Body b = body;
            int size = n;
            if (!ctl.compareAndSet(v, v + 1)) {
                continue;
            }
            try {
                if (failure == null) {
                    b.run(c, from(size, chunks, c), from(size, chunks, c + 1));
                }
            } catch (Throwable x) {
                if (failure == null) {
                    failure = x;
                }
            } finally {
                done.incrementAndGet();
            }
        }
    }

    /** A helper: waits for each new epoch and claims chunks of it, until the pool closes. */
    private void help(Helper self) {
        self.thread = Thread.currentThread();
        int seen = (int) (ctl.get() >>> 32);
        while (!closed && !Thread.currentThread().isInterrupted()) {
            int e = (int) (ctl.get() >>> 32);
            if (e == seen) {
                await(self, seen);
                continue;
            }
            seen = e;
            claim(e);
        }
        self.thread = null;
    }

    /** Spins while no loop is published, then parks until {@link #forRange} or {@link #close} unparks. */
    private void await(Helper self, int seen) {
        long start = System.nanoTime();
        int spins = 0;
        while ((int) (ctl.get() >>> 32) == seen && !closed) {
            if (++spins < 64) {
                Thread.onSpinWait();
                continue;
            }
            spins = 0;
            if (System.nanoTime() - start < spinNanos) {
                continue;
            }
            self.parked = true;
            if ((int) (ctl.get() >>> 32) == seen && !closed) {
                LockSupport.park(this);
            }
            self.parked = false;
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
            start = System.nanoTime();
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
