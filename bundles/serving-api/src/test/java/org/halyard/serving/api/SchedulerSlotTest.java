package org.halyard.serving.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Proxy;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.halyard.serving.api.RejectedException.Reason;
import org.junit.jupiter.api.Test;

class SchedulerSlotTest {

    final SchedulerSlot slot = new SchedulerSlot();

    static Scheduler scheduler() {
        return (Scheduler) Proxy.newProxyInstance(Scheduler.class.getClassLoader(), new Class<?>[] {Scheduler.class},
                (p, m, a) -> m.getName().equals("equals") ? p == a[0] : m.getName().equals("hashCode")
                        ? System.identityHashCode(p) : null);
    }

    @Test
    void withoutASchedulerASubmissionIsRefusedAsUnavailableAfterTheWait() {
        RejectedException e = assertThrows(RejectedException.class, () -> slot.await(20));
        assertEquals(Reason.UNAVAILABLE, e.reason());
    }

    @Test
    void aWaitingSubmissionGetsTheSchedulerBoundWhileItWaits() throws Exception {
        CompletableFuture<Scheduler> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return slot.await(10_000);
            } catch (RejectedException e) {
                throw new IllegalStateException(e);
            }
        });
        Scheduler s = scheduler();
        Thread.sleep(50);
        slot.bind(s);
        assertSame(s, waiting.get(5, TimeUnit.SECONDS));
    }

    @Test
    void unbindingAnotherSchedulerKeepsTheOneBound() throws RejectedException {
        Scheduler old = scheduler();
        Scheduler next = scheduler();
        slot.bind(old);
        slot.bind(next); // greedy: the next one is bound before the old one goes
        slot.unbind(old);
        assertSame(next, slot.await(0));
        slot.unbind(next);
        assertNull(slot.current());
    }
}
