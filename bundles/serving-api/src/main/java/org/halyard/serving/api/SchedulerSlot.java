package org.halyard.serving.api;

import java.time.Duration;
import org.halyard.serving.api.RejectedException.Reason;

/**
 * A serving mode's dynamic reference to the {@link Scheduler}, which submissions wait on while
 * the scheduler is being replaced ({@code bundle:update}: the old one is unbound before the new
 * one is bound). The mode's bind and unbind methods call {@link #bind} and {@link #unbind}; its
 * submissions call {@link #await}.
 *
 * <p>A final class serving modes use as it is (not an interface to implement); safe for
 * concurrent use.
 */
public final class SchedulerSlot {

    private final Object changed = new Object();
    private volatile Scheduler scheduler;

    /** The scheduler now bound, or {@code null}. */
    public Scheduler current() {
        return scheduler;
    }

    /** Binds {@code s} and wakes the submissions waiting for a scheduler. */
    public void bind(Scheduler s) {
        scheduler = s;
        synchronized (changed) {
            changed.notifyAll();
        }
    }

    /** Unbinds {@code s} if it is the one bound (a greedy reference binds the next one first). */
    public void unbind(Scheduler s) {
        if (scheduler == s) {
            scheduler = null;
        }
    }

    /**
     * The bound scheduler, waiting up to {@code waitMillis} for one.
     *
     * @throws RejectedException {@link Reason#UNAVAILABLE} when none came in time
     */
    public Scheduler await(long waitMillis) throws RejectedException {
        Scheduler s = scheduler;
        if (s != null) {
            return s;
        }
        long end = System.nanoTime() + waitMillis * 1_000_000;
        synchronized (changed) {
            while ((s = scheduler) == null) {
                long left = (end - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    throw new RejectedException(Reason.UNAVAILABLE, "No scheduler is running; retry shortly.",
                            Duration.ofSeconds(5));
                }
                try {
                    changed.wait(Math.min(left, 100));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RejectedException(Reason.UNAVAILABLE, "Interrupted while waiting for a scheduler.",
                            Duration.ofSeconds(1));
                }
            }
        }
        return s;
    }
}
