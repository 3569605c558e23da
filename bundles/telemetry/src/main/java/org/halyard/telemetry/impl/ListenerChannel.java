package org.halyard.telemetry.impl;

import com.codahale.metrics.Counter;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.halyard.telemetry.api.RequestListener;
import org.halyard.telemetry.api.RequestRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers request records to one listener on a thread of its own, so that a slow or stuck
 * exporter delays neither serving nor the other exporters.
 *
 * <p>The caller's side ({@link #offer}) takes no lock: a CAS on the queue length, a lock-free
 * queue, and a hand-off to the executor only when the channel goes from idle to scheduled (its
 * work queue is a {@link LinkedTransferQueue}, also lock-free). When the listener falls behind by
 * more than the capacity, records are dropped and counted instead of piling up in memory.
 */
final class ListenerChannel implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(ListenerChannel.class);
    /** Records delivered per turn before the task yields its thread (and re-queues itself). */
    private static final int BATCH = 256;

    private final RequestListener listener;
    private final String name;
    private final ConcurrentLinkedQueue<RequestRecord> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final ThreadPoolExecutor executor;
    private final Counter dropped;
    private final Counter failures;
    private volatile int capacity;
    private volatile boolean closed;
    private volatile long delivered;

    ListenerChannel(RequestListener listener, String name, int capacity, Counter dropped, Counter failures) {
        this.listener = listener;
        this.name = name;
        this.capacity = capacity;
        this.dropped = dropped;
        this.failures = failures;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedTransferQueue<>(), r -> {
            Thread t = new Thread(r, "halyard-telemetry-" + name);
            t.setDaemon(true);
            return t;
        });
        executor.prestartAllCoreThreads();
    }

    RequestListener listener() {
        return listener;
    }

    String name() {
        return name;
    }

    void capacity(int capacity) {
        this.capacity = capacity;
    }

    /** Records waiting now. */
    int backlog() {
        return size.get();
    }

    long delivered() {
        return delivered;
    }

    /** Queues a record; never blocks. */
    void offer(RequestRecord r) {
        if (closed) {
            return;
        }
        if (size.incrementAndGet() > capacity) {
            size.decrementAndGet();
            dropped.inc();
            return;
        }
        queue.offer(r);
        schedule();
    }

    private void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            try {
                executor.execute(this);
            } catch (RejectedExecutionException closing) {
                scheduled.set(false);
            }
        }
    }

    @Override
    public void run() {
        int n = 0;
        RequestRecord r;
        while (n < BATCH && !closed && (r = queue.poll()) != null) {
            size.decrementAndGet();
            n++;
            try {
                listener.onRequest(r);
                delivered++;
            } catch (Throwable t) {
                // the contract says listeners must not throw; one that does loses only its own record
                failures.inc();
                if (failures.getCount() == 1) {
                    LOG.warn("Request listener {} failed; further failures are only counted "
                            + "(halyard.telemetry.listener.failures)", name, t);
                } else {
                    LOG.debug("Request listener {} failed", name, t);
                }
            }
        }
        scheduled.set(false);
        if (!closed && !queue.isEmpty()) {
            schedule();
        }
    }

    /**
     * Stops delivering: records still queued are dropped (the listener is going away), the record
     * being delivered finishes (waiting up to {@code waitMillis}).
     */
    void close(long waitMillis) {
        closed = true;
        executor.shutdown();
        int left = 0;
        while (queue.poll() != null) {
            left++;
        }
        if (left > 0) {
            dropped.inc(left);
        }
        try {
            if (!executor.awaitTermination(waitMillis, TimeUnit.MILLISECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
