package org.halyard.mode.interactive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.halyard.safety.api.Kill;
import org.halyard.safety.api.KillScope;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.Criticality;
import org.halyard.serving.api.FinishReason;
import org.halyard.serving.api.GeneratedToken;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.ModeLimits;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.Quota;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.RejectedException.Reason;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.SchedulerLoad;
import org.junit.jupiter.api.Test;

class AdmissionTest {

    /** Holds what is submitted until the test finishes it. */
    static final class FakeScheduler implements Scheduler {
        final List<GenerationRequest> submitted = new ArrayList<>();
        final List<CompletableFuture<Completion>> futures = new ArrayList<>();
        int waiting;
        int running;
        long waitingTokens;

        @Override
        public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
            submitted.add(request);
            CompletableFuture<Completion> f = new CompletableFuture<>();
            futures.add(f);
            return new GenerationHandle() {
                @Override public String requestId() { return request.requestId(); }
                @Override public void cancel() { }
                @Override public CompletionStage<Completion> completion() { return f; }
            };
        }

        void finishAll() {
            for (int i = 0; i < futures.size(); i++) {
                futures.get(i).complete(new Completion(submitted.get(i).requestId(), FinishReason.STOP, "", null,
                        Duration.ZERO, null, Duration.ZERO, 0, Optional.empty()));
            }
        }

        @Override public List<RequestStatus> requests() { return List.of(); }

        @Override
        public SchedulerLoad load(String model, PriorityClass priority) {
            return new SchedulerLoad(priority, running, waiting, waitingTokens, 0, 1000);
        }
    }

    static final GenerationListener NOBODY = new GenerationListener() {
        @Override public void onToken(GeneratedToken token) { }
        @Override public void onComplete(Completion completion) { }
    };

    final AtomicLong clock = new AtomicLong();
    final Admission admission = new Admission("interactive", PriorityClass.INTERACTIVE, clock::get);
    final FakeScheduler scheduler = new FakeScheduler();
    Admission.Policy policy = new Admission.Policy(new ModeLimits(100, 50, 2, 1000, 4), 0.5, 1.5, Duration.ofSeconds(60));
    int ids;

    GenerationRequest.Builder req(int promptTokens) {
        return GenerationRequest.builder("r" + (++ids), "m", new int[promptTokens]).maxTokens(10);
    }

    GenerationHandle admit(GenerationRequest r) throws RejectedException {
        return admission.admit(r, NOBODY, policy, scheduler, null);
    }

    @Test
    void admittedRequestsGetTheModesClassAndADefaultDeadline() throws Exception {
        admit(req(5).priority(PriorityClass.BATCH).mode("x").build());
        GenerationRequest r = scheduler.submitted.get(0);
        assertEquals(PriorityClass.INTERACTIVE, r.priority());
        assertEquals("interactive", r.mode());
        assertTrue(r.deadline().isAfter(Instant.now().plusSeconds(50)));
    }

    @Test
    void limitsRefuseWithInvalid() {
        RejectedException e = assertThrows(RejectedException.class, () -> admit(req(101).build()));
        assertEquals(Reason.INVALID, e.reason());
        assertTrue(e.getMessage().contains("at most 100"));
        e = assertThrows(RejectedException.class, () -> admit(req(5).maxTokens(51).build()));
        assertEquals(Reason.INVALID, e.reason());
    }

    @Test
    void anEngagedKillSwitchRefusesWith503() {
        KillSwitch kill = new KillSwitch() {
            @Override public Optional<Kill> check(KillScope... scopes) {
                return Optional.of(new Kill(KillScope.GLOBAL, "incident", "op", Instant.now(), "I-1"));
            }
            @Override public Kill engage(KillScope s, String r, String a) { return null; }
            @Override public boolean release(KillScope s, String a) { return false; }
            @Override public List<Kill> engaged() { return List.of(); }
        };
        RejectedException e = assertThrows(RejectedException.class,
                () -> admission.admit(req(5).build(), NOBODY, policy, scheduler, kill));
        assertEquals(Reason.UNAVAILABLE, e.reason());
        assertEquals(503, e.reason().httpStatus());
        assertTrue(e.retryAfter().isPresent());
        assertTrue(scheduler.submitted.isEmpty());
    }

    @Test
    void requestsInFlightAreBoundedAndFreedOnCompletion() throws Exception {
        for (int i = 0; i < 6; i++) {
            admit(req(5).build()); // maxRunning 4 + maxQueued 2
        }
        RejectedException e = assertThrows(RejectedException.class, () -> admit(req(5).build()));
        assertEquals(Reason.OVERLOAD, e.reason());
        assertTrue(e.retryAfter().orElseThrow().getSeconds() >= 1);
        // critical requests have headroom: 6 * 1.5 = 9
        for (int i = 0; i < 3; i++) {
            admit(req(5).criticality(Criticality.CRITICAL).build());
        }
        assertThrows(RejectedException.class, () -> admit(req(5).criticality(Criticality.CRITICAL).build()));
        scheduler.finishAll();
        assertEquals(0, admission.inFlight());
        admit(req(5).build());
    }

    @Test
    void sheddableRequestsAreShedFirst() throws Exception {
        for (int i = 0; i < 3; i++) {
            admit(req(5).build());
        }
        RejectedException e = assertThrows(RejectedException.class,
                () -> admit(req(5).criticality(Criticality.SHEDDABLE).build()));
        assertEquals(Reason.OVERLOAD, e.reason());
        assertTrue(e.getMessage().contains("sheddable"));
        admit(req(5).build());
    }

    @Test
    void fullQueuesRefuseWithOverload() throws Exception {
        // maxRunning 4, maxQueued 2: waiting requests that fit free running slots do not count
        scheduler.waiting = 5;
        admit(req(5).build());
        scheduler.running = 3;
        scheduler.waiting = 3; // 2 beyond the one free slot
        RejectedException e = assertThrows(RejectedException.class, () -> admit(req(5).build()));
        assertEquals(Reason.OVERLOAD, e.reason());
        scheduler.running = 0;
        scheduler.waiting = 1;
        scheduler.waitingTokens = 999;
        e = assertThrows(RejectedException.class, () -> admit(req(5).build()));
        assertTrue(e.getMessage().contains("prompt tokens"));
    }

    @Test
    void quotasRefuseWith429AndRefillOverTime() throws Exception {
        Quota q = new Quota(0, 2, 0);
        admit(req(5).tenant("alice").quota(q).build());
        admit(req(5).tenant("alice").quota(q).build());
        RejectedException e = assertThrows(RejectedException.class,
                () -> admit(req(5).tenant("alice").quota(q).build()));
        assertEquals(Reason.QUOTA, e.reason());
        assertEquals(429, e.reason().httpStatus());
        assertEquals(30, e.retryAfter().orElseThrow().getSeconds());
        admit(req(5).tenant("bob").quota(q).build()); // another key has its own bucket
        clock.addAndGet(Duration.ofSeconds(30).toNanos());
        admit(req(5).tenant("alice").quota(q).build());
    }

    @Test
    void tokenQuotaAndConcurrencyQuota() throws Exception {
        scheduler.finishAll();
        Quota tokens = new Quota(0, 0, 40);
        admit(req(10).tenant("t").quota(tokens).build()); // 20 tokens
        admit(req(10).tenant("t").quota(tokens).build());
        RejectedException e = assertThrows(RejectedException.class, () -> admit(req(10).tenant("t").quota(tokens).build()));
        assertEquals(Reason.QUOTA, e.reason());
        e = assertThrows(RejectedException.class, () -> admit(req(40).tenant("t").quota(tokens).build()));
        assertEquals(Reason.INVALID, e.reason(), "a request larger than the whole minute can never pass");

        Quota one = new Quota(1, 0, 0);
        admit(req(5).tenant("c").quota(one).build());
        e = assertThrows(RejectedException.class, () -> admit(req(5).tenant("c").quota(one).build()));
        assertEquals(Reason.QUOTA, e.reason());
        scheduler.finishAll();
        admit(req(5).tenant("c").quota(one).build());
    }

    @Test
    void aRefusedRequestGivesItsQuotaBack() throws Exception {
        Quota q = new Quota(0, 1, 0);
        scheduler.waiting = 10;
        assertThrows(RejectedException.class, () -> admit(req(5).tenant("z").quota(q).build()));
        scheduler.waiting = 0;
        admit(req(5).tenant("z").quota(q).build());
    }
}
