package org.halyard.mode.ultralong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.safety.api.Kill;
import org.halyard.safety.api.KillScope;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.ContextPolicy.Overflow;
import org.halyard.serving.api.FinishReason;
import org.halyard.serving.api.GeneratedToken;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.KvPolicy;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.Quota;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.RejectedException.Reason;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.SchedulerLoad;
import org.junit.jupiter.api.Test;

class UltraLongAdmissionTest {

    /** Holds what is submitted until the test finishes it. */
    static final class FakeScheduler implements Scheduler {
        final List<GenerationRequest> submitted = new ArrayList<>();
        final List<CompletableFuture<Completion>> futures = new ArrayList<>();

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

        void finish(int i) {
            futures.get(i).complete(new Completion(submitted.get(i).requestId(), FinishReason.STOP, "", null,
                    Duration.ZERO, null, Duration.ZERO, 0, Optional.empty()));
        }

        @Override public List<RequestStatus> requests() { return List.of(); }

        @Override
        public SchedulerLoad load(String model, PriorityClass priority) {
            return new SchedulerLoad(priority, 1, 1, 20_000, 0, 1000);
        }
    }

    static final GenerationListener NOBODY = new GenerationListener() {
        @Override public void onToken(GeneratedToken token) { }
        @Override public void onComplete(Completion completion) { }
    };

    /** The demo model: 4 layers x 2 KV heads x 32, context 256, 16-token blocks. */
    static final UltraLongAdmission.ModelShape DEMO = new UltraLongAdmission.ModelShape(new KvLayout(4, 2, 32), 256, 16);
    /** One sealed INT8 block of the demo model: 8192 int8 values and 16 float scales. */
    static final long INT8_BLOCK = 8192 + 64;
    /** The extra of the block being written: INT8 blocks are staged as F32 (4 bytes a value). */
    static final long STAGING = 4 * 8192 - INT8_BLOCK;

    final AtomicLong clock = new AtomicLong();
    final UltraLongAdmission admission = new UltraLongAdmission("ultra-long", clock::get);
    final FakeScheduler scheduler = new FakeScheduler();
    UltraLongAdmission.Policy policy = new UltraLongAdmission.Policy(100_000, 512, 2, 20 * INT8_BLOCK + STAGING, KvDType.INT8,
            true, new ContextPolicy(Overflow.SLIDE, 16, 0, 0), Duration.ofSeconds(600));
    int ids;

    GenerationRequest.Builder request(int prompt, int maxTokens) {
        return GenerationRequest.builder("r" + (++ids), "demo", new int[prompt]).maxTokens(maxTokens);
    }

    GenerationHandle admit(GenerationRequest r) throws RejectedException {
        return admission.admit(r, NOBODY, policy, DEMO, scheduler, null);
    }

    @Test
    void admittedRequestsGetInt8OffloadTheBudgetTheClassAndTheModesPolicy() throws Exception {
        admit(request(5120, 64).build());
        GenerationRequest r = scheduler.submitted.get(0);
        assertEquals("ultra-long", r.mode());
        assertEquals(PriorityClass.ULTRA_LONG, r.priority());
        assertEquals(new KvPolicy(KvDType.INT8, true, 20 * INT8_BLOCK + STAGING), r.kv());
        assertEquals(new ContextPolicy(Overflow.SLIDE, 16, 0, 0), r.context());
        assertNotNull(r.deadline());
    }

    @Test
    void theRequestsPolicyWinsAndTakesTheModesSizesWhereItLeftZeros() throws Exception {
        admit(request(100, 10).context(ContextPolicy.of(Overflow.TRUNCATE)).build());
        admit(request(100, 10).context(new ContextPolicy(Overflow.SLIDE, 0, 128, 32)).build());
        assertEquals(new ContextPolicy(Overflow.TRUNCATE, 16, 0, 0), scheduler.submitted.get(0).context());
        assertEquals(new ContextPolicy(Overflow.SLIDE, 16, 128, 32), scheduler.submitted.get(1).context());
    }

    @Test
    void promptAndOutputLimitsAreRefusedUpFrontSayingWhich() {
        RejectedException e = assertThrows(RejectedException.class, () -> admit(request(100_001, 10).build()));
        assertEquals(Reason.INVALID, e.reason());
        assertTrue(e.getMessage().contains("maxPromptTokens"), e.getMessage());
        e = assertThrows(RejectedException.class, () -> admit(request(10, 513).build()));
        assertTrue(e.getMessage().contains("maxOutputTokens"), e.getMessage());
        assertEquals(0, scheduler.submitted.size());
    }

    @Test
    void theMemoryBudgetCountsWholeBlocksOfTheWindowOrOfTheContext() throws Exception {
        assertEquals(INT8_BLOCK, UltraLongAdmission.blockBytes(DEMO.layout(), 16, KvDType.INT8));
        assertEquals(16 * 2048, UltraLongAdmission.blockBytes(DEMO.layout(), 16, KvDType.F32));
        // slide: at most the window (the context, 256 tokens = 16 blocks), however long the prompt
        assertEquals(16 * INT8_BLOCK + STAGING, UltraLongAdmission.bytesNeeded(request(5120, 64).build(),
                new ContextPolicy(Overflow.SLIDE, 16, 0, 0), DEMO, KvDType.INT8));
        assertEquals(4 * INT8_BLOCK + STAGING, UltraLongAdmission.bytesNeeded(request(5120, 64).build(),
                new ContextPolicy(Overflow.SLIDE, 16, 64, 0), DEMO, KvDType.INT8));
        // reject: prompt plus output, here 100 + 30 tokens = 9 blocks
        assertEquals(9 * INT8_BLOCK + STAGING, UltraLongAdmission.bytesNeeded(request(100, 30).build(),
                ContextPolicy.REJECT, DEMO, KvDType.INT8));
        assertEquals(9 * 16 * 2048, UltraLongAdmission.bytesNeeded(request(100, 30).build(), ContextPolicy.REJECT,
                DEMO, KvDType.F32));

        policy = new UltraLongAdmission.Policy(100_000, 512, 2, 10 * INT8_BLOCK + STAGING, KvDType.INT8, true,
                new ContextPolicy(Overflow.SLIDE, 16, 0, 0), Duration.ZERO);
        RejectedException e = assertThrows(RejectedException.class, () -> admit(request(5120, 64).build()));
        assertEquals(Reason.INVALID, e.reason());
        assertTrue(e.getMessage().contains("maxBytesPerSequence") && e.getMessage().contains("window_tokens"),
                e.getMessage());
        admit(request(5120, 64).context(new ContextPolicy(Overflow.SLIDE, 16, 160, 0)).build());
        assertEquals(1, scheduler.submitted.size());
    }

    @Test
    void concurrentSequencesAreBoundedWith429AndRetryAfter() throws Exception {
        admit(request(10, 10).build());
        admit(request(10, 10).build());
        RejectedException e = assertThrows(RejectedException.class, () -> admit(request(10, 10).build()));
        assertEquals(Reason.QUOTA, e.reason());
        assertEquals(429, e.reason().httpStatus());
        assertTrue(e.getMessage().contains("maxConcurrentSequences"), e.getMessage());
        assertEquals(Duration.ofSeconds(20), e.retryAfter().orElseThrow(), "20 000 tokens waiting at 1000 tokens/s");
        scheduler.finish(0);
        admit(request(10, 10).build());
        assertEquals(3, scheduler.submitted.size());
        assertEquals(2, admission.inFlight());
    }

    @Test
    void theCallersTokenQuotaCountsTheLongPrompt() throws Exception {
        Quota q = new Quota(0, 0, 10_000);
        admit(request(6000, 100).tenant("alice").quota(q).build());
        scheduler.finish(0);
        RejectedException e = assertThrows(RejectedException.class,
                () -> admit(request(6000, 100).tenant("alice").quota(q).build()));
        assertEquals(Reason.QUOTA, e.reason());
        e = assertThrows(RejectedException.class, () -> admit(request(20_000, 100).tenant("alice").quota(q).build()));
        assertEquals(Reason.INVALID, e.reason(), "more than the key may ever use");
        clock.addAndGet(60_000_000_000L);
        admit(request(6000, 100).tenant("alice").quota(q).build());
        assertEquals(2, scheduler.submitted.size());
    }

    @Test
    void theKillSwitchRefusesWith503() {
        KillSwitch kill = new KillSwitch() {
            @Override
            public Optional<Kill> check(KillScope... scopes) {
                for (KillScope s : scopes) {
                    if (s.type() == KillScope.Type.MODE && s.value().equals("ultra-long")) {
                        return Optional.of(new Kill(s, "maintenance", "ops", java.time.Instant.now(), "inc-1"));
                    }
                }
                return Optional.empty();
            }

            @Override public Kill engage(KillScope scope, String reason, String actor) { return null; }
            @Override public boolean release(KillScope scope, String actor) { return false; }
            @Override public List<Kill> engaged() { return List.of(); }
        };
        RejectedException e = assertThrows(RejectedException.class,
                () -> admission.admit(request(10, 10).build(), NOBODY, policy, DEMO, scheduler, kill));
        assertEquals(Reason.UNAVAILABLE, e.reason());
        assertTrue(e.getMessage().contains("maintenance"));
    }
}
