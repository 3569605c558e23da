package org.halyard.scheduler.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.halyard.engine.api.SamplingParams;
import org.halyard.kvcache.api.KvDType;
import org.halyard.safety.api.Kill;
import org.halyard.safety.api.KillScope;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.FinishReason;
import org.halyard.serving.api.GeneratedToken;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.RequestStatus;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.StepRecord;
import org.halyard.telemetry.api.Telemetry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BatchSchedulerTest {

    static final String MODEL = "fake";

    FakeModel model = new FakeModel(MODEL, 256);
    FakeKvCache.Manager kv = new FakeKvCache.Manager(4, 1024);
    BatchScheduler scheduler;
    int ids;

    BatchScheduler start(Settings s) {
        scheduler = new BatchScheduler(s);
        scheduler.setKvCacheManager(kv);
        scheduler.addModel(model, MODEL, 1, 0);
        return scheduler;
    }

    BatchScheduler start() {
        return start(Settings.DEFAULT);
    }

    static Settings settings(int batchTokens, int batchSeqs, int chunk) {
        return new Settings(batchTokens, batchSeqs, chunk, 1024, 0, KvDType.F32, true, false, Duration.ofSeconds(5),
                true, 0);
    }

    @AfterEach
    void stop() {
        if (scheduler != null) {
            Semaphore g = model.gate;
            if (g != null) {
                g.release(100_000);
            }
            scheduler.close();
        }
    }

    /** Records what a listener sees and checks the order of calls. */
    static final class Recorder implements GenerationListener {
        final List<GeneratedToken> tokens = new CopyOnWriteArrayList<>();
        final List<String> problems = new CopyOnWriteArrayList<>();
        volatile Completion completion;
        final CountDownLatch done = new CountDownLatch(1);
        final CountDownLatch firstToken = new CountDownLatch(1);

        @Override
        public void onToken(GeneratedToken token) {
            if (completion != null) {
                problems.add("token after completion");
            }
            if (token.index() != tokens.size()) {
                problems.add("token index " + token.index() + " after " + tokens.size() + " tokens");
            }
            tokens.add(token);
            firstToken.countDown();
        }

        @Override
        public void onComplete(Completion c) {
            if (completion != null) {
                problems.add("second completion");
            }
            completion = c;
            done.countDown();
        }

        Completion await() throws InterruptedException {
            assertTrue(done.await(10, TimeUnit.SECONDS), "request did not complete");
            assertEquals(List.of(), problems);
            return completion;
        }

        int[] ids() {
            return tokens.stream().mapToInt(GeneratedToken::token).toArray();
        }

        String streamed() {
            StringBuilder sb = new StringBuilder();
            tokens.forEach(t -> sb.append(t.text()));
            return sb.toString();
        }
    }

    /** Waits until the engine loop is inside a step, held by the model's gate. */
    void awaitStepBlocked() throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!model.gate.hasQueuedThreads()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("the engine loop never started a step");
            }
            Thread.sleep(1);
        }
    }

    GenerationRequest.Builder request(String prompt, int maxTokens) {
        return GenerationRequest.builder("r" + (++ids), MODEL, model.tokenizer.encode(prompt, true, false))
                .maxTokens(maxTokens);
    }

    Recorder run(GenerationRequest r) throws RejectedException {
        Recorder rec = new Recorder();
        scheduler.submit(r, rec);
        return rec;
    }

    static String text(int[] tokens) {
        return new FakeTokenizer().decode(tokens, true);
    }

    @Test
    void generatesTheModelsGreedyContinuationAndStreamsItInOrder() throws Exception {
        start();
        GenerationRequest r = request("To be, or not", 20).build();
        Recorder rec = run(r);
        Completion c = rec.await();
        int[] expected = FakeModel.reference(r.prompt(), 20);
        assertArrayEquals(expected, rec.ids());
        assertEquals(FinishReason.LENGTH, c.reason());
        assertEquals(text(expected), c.text());
        assertEquals(c.text(), rec.streamed());
        assertEquals(r.promptLength(), c.usage().promptTokens());
        assertEquals(20, c.usage().completionTokens());
        assertTrue(c.timeToFirstToken().compareTo(c.totalTime()) <= 0);
        assertEquals(0, kv.last().usedBlocks(), "KV blocks are released at the end");
    }

    @Test
    void concurrentRequestsShareSteps() throws Exception {
        start();
        model.gate = new Semaphore(0);
        List<Recorder> recs = new ArrayList<>();
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            GenerationRequest r = request("prompt number " + i, 12).build();
            reqs.add(r);
            recs.add(run(r));
        }
        model.gate.release(100_000);
        for (int i = 0; i < 8; i++) {
            recs.get(i).await();
            assertArrayEquals(FakeModel.reference(reqs.get(i).prompt(), 12), recs.get(i).ids(), "request " + i);
        }
        int widest = model.steps.stream().mapToInt(s -> s.ids().size()).max().orElse(0);
        assertTrue(widest >= 7, "steps batch the requests together; widest step had " + widest);
        assertTrue(model.steps.size() < 8 * 13, "fewer steps than one per token and request: " + model.steps.size());
    }

    @Test
    void longPromptIsPrefilledInChunksWhileOthersKeepDecoding() throws Exception {
        start(settings(16, 8, 8));
        // r1 must still be decoding while the long prompt is fed: hold the first step until the
        // long prompt is queued (on a slow machine r1 could otherwise finish its 60 tokens first)
        model.gate = new Semaphore(0);
        Recorder decoding = run(request("hi", 60).build());
        awaitStepBlocked();
        GenerationRequest longOne = request("x".repeat(100), 4).build();
        Recorder rec = run(longOne);
        model.gate.release(100_000);
        assertTrue(decoding.firstToken.await(5, TimeUnit.SECONDS));
        rec.await();
        decoding.await();
        assertArrayEquals(FakeModel.reference(longOne.prompt(), 4), rec.ids());
        // every step that fed the long prompt also carried the decode of the other request
        int chunks = 0;
        for (FakeModel.Step s : model.steps) {
            assertTrue(s.tokens() <= 16, "a step fed " + s.tokens() + " tokens, over the budget");
            int i = s.ids().indexOf(longOne.requestId());
            if (i >= 0 && s.counts().get(i) > 1) {
                chunks++;
                assertTrue(s.counts().get(i) <= 8, "chunks are at most 8 tokens");
                if (decoding.completion.totalTime() != null && s.ids().size() < 2) {
                    // the decoding request may have finished already
                    continue;
                }
            }
        }
        assertTrue(chunks >= 12, "the 101-token prompt took " + chunks + " chunks");
        long stalled = model.steps.stream().filter(s -> s.ids().contains(longOne.requestId())
                && s.counts().get(s.ids().indexOf(longOne.requestId())) > 1 && !s.ids().contains("r1")).count();
        assertEquals(0, stalled, "no prefill chunk ran without the decode of r1");
    }

    @Test
    void runningOutOfBlocksPreemptsByRecomputeAndTheTextStaysRight() throws Exception {
        kv = new FakeKvCache.Manager(4, 24); // 96 tokens for everyone
        start(settings(64, 8, 32));
        model.gate = new Semaphore(0);
        List<Recorder> recs = new ArrayList<>();
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            GenerationRequest r = request("p" + i + " some words", 30).build();
            reqs.add(r);
            recs.add(run(r));
        }
        model.gate.release(100_000);
        int preemptions = 0;
        for (int i = 0; i < 4; i++) {
            Completion c = recs.get(i).await();
            assertEquals(FinishReason.LENGTH, c.reason(), c.error().orElse(""));
            assertArrayEquals(FakeModel.reference(reqs.get(i).prompt(), 30), recs.get(i).ids(), "request " + i);
            assertEquals(c.text(), recs.get(i).streamed());
            preemptions += c.preemptions();
        }
        assertTrue(preemptions > 0, "4 x 43 tokens do not fit 96 slots without preemption");
        assertEquals(0, kv.last().usedBlocks());
    }

    @Test
    void aRequestTooBigForThePoolFailsInsteadOfWaitingForever() throws Exception {
        kv = new FakeKvCache.Manager(4, 4); // 16 tokens
        start(settings(64, 8, 64));
        Completion c = run(request("this prompt is longer than sixteen tokens", 4).build()).await();
        assertEquals(FinishReason.ERROR, c.reason());
        assertTrue(c.error().orElseThrow().contains("more KV cache"), c.error().orElseThrow());
        // a request that fits still runs afterwards
        assertEquals(FinishReason.LENGTH, run(request("ok", 4).build()).await().reason());
    }

    @Test
    void interactiveRequestsGoBeforeBatchAndPreemptThem() throws Exception {
        kv = new FakeKvCache.Manager(4, 12); // 48 tokens
        start(settings(64, 8, 64));
        model.stepDelayMillis = 2;
        Recorder batch1 = run(request("batch one", 30).priority(PriorityClass.BATCH).mode("batch").build());
        Recorder batch2 = run(request("batch two", 30).priority(PriorityClass.BATCH).mode("batch").build());
        assertTrue(batch1.firstToken.await(5, TimeUnit.SECONDS));
        assertTrue(batch2.firstToken.await(5, TimeUnit.SECONDS));
        Recorder inter = run(request("now!", 5).build());
        Completion ci = inter.await();
        assertEquals(FinishReason.LENGTH, ci.reason());
        Completion b1 = batch1.await();
        Completion b2 = batch2.await();
        assertTrue(b2.totalTime().compareTo(ci.totalTime()) > 0);
        assertTrue(b1.preemptions() + b2.preemptions() > 0, "the interactive request preempted a batch one");
        assertEquals(FinishReason.LENGTH, b1.reason());
        assertEquals(FinishReason.LENGTH, b2.reason());
    }

    @Test
    void batchWorkPerStepIsCappedSoAStepOfBatchWorkStaysShort() throws Exception {
        start(new Settings(256, 16, 64, 1024, 0, KvDType.F32, true, false, Duration.ofSeconds(5), true, 8));
        List<Recorder> batch = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            GenerationRequest r = request("a batch prompt of some length " + i, 12).priority(PriorityClass.BATCH)
                    .mode("batch").build();
            ids.add(r.requestId());
            batch.add(run(r));
        }
        Recorder inter = run(request("an interactive prompt that is not short at all", 12).build());
        for (Recorder r : batch) {
            assertEquals(FinishReason.LENGTH, r.await().reason());
        }
        assertEquals(FinishReason.LENGTH, inter.await().reason());
        boolean interactiveShared = false;
        for (FakeModel.Step step : model.steps) {
            int batchTokens = 0;
            for (int i = 0; i < step.ids().size(); i++) {
                if (ids.contains(step.ids().get(i))) {
                    batchTokens += step.counts().get(i);
                } else {
                    interactiveShared |= step.counts().get(i) > 8;
                }
            }
            assertTrue(batchTokens <= 8, "a step fed " + batchTokens + " batch tokens: " + step);
        }
        assertTrue(interactiveShared, "the interactive request is not capped");
    }

    @Test
    void anInteractiveRequestTakesTheSlotOfABatchOneWhenTheBatchIsFull() throws Exception {
        start(settings(64, 2, 64));
        model.stepDelayMillis = 2;
        Recorder b1 = run(request("batch one", 120).priority(PriorityClass.BATCH).mode("batch").build());
        Recorder b2 = run(request("batch two", 120).priority(PriorityClass.BATCH).mode("batch").build());
        assertTrue(b1.firstToken.await(5, TimeUnit.SECONDS));
        assertTrue(b2.firstToken.await(5, TimeUnit.SECONDS));
        Recorder inter = run(request("now!", 3).build());
        Completion ci = inter.await();
        assertEquals(FinishReason.LENGTH, ci.reason());
        assertTrue(b1.done.getCount() + b2.done.getCount() > 0, "a batch request was still running");
        Completion c1 = b1.await();
        Completion c2 = b2.await();
        assertEquals(1, c1.preemptions() + c2.preemptions(), "one batch request gave its place");
        assertEquals(text(b1.ids()), b1.streamed(), "the preempted text continues where it stopped");
    }

    @Test
    void waitingInteractiveRequestsAreScheduledBeforeWaitingBatchOnes() throws Exception {
        start(settings(64, 1, 64));
        model.gate = new Semaphore(0);
        Recorder first = run(request("first", 3).priority(PriorityClass.BATCH).build());
        awaitStepBlocked(); // "first" holds the only slot; the other two wait
        Recorder batch = run(request("batch", 3).priority(PriorityClass.BATCH).build());
        Recorder inter = run(request("interactive", 3).build());
        model.gate.release(100_000);
        first.await();
        Completion ci = inter.await();
        Completion cb = batch.await();
        assertTrue(ci.totalTime().compareTo(cb.totalTime()) < 0, "interactive finished first");
    }

    @Test
    void cancellingEndsTheRequestAndFreesItsBlocks() throws Exception {
        start();
        model.stepDelayMillis = 5;
        Recorder rec = new Recorder();
        GenerationHandle h = scheduler.submit(request("go on forever", 200).build(), rec);
        assertTrue(rec.firstToken.await(5, TimeUnit.SECONDS));
        h.cancel();
        h.cancel();
        Completion c = rec.await();
        assertEquals(FinishReason.CANCELLED, c.reason());
        assertTrue(c.usage().completionTokens() < 200);
        assertEquals(c, h.completion().toCompletableFuture().get(1, TimeUnit.SECONDS));
        assertEquals(0, kv.last().usedBlocks());
        assertTrue(scheduler.requests().isEmpty());
    }

    @Test
    void cancellingAQueuedRequestEndsItWithoutRunning() throws Exception {
        start();
        model.gate = new Semaphore(0);
        Recorder running = run(request("one", 3).build());
        awaitStepBlocked(); // "one" is in a step; "two" can only queue
        Recorder queued = new Recorder();
        GenerationHandle h = scheduler.submit(request("two", 3).build(), queued);
        h.cancel();
        model.gate.release(100_000);
        assertEquals(FinishReason.CANCELLED, queued.await().reason());
        assertEquals(0, queued.tokens.size());
        assertEquals(FinishReason.LENGTH, running.await().reason());
    }

    @Test
    void deadlinesEndRunningAndQueuedRequests() throws Exception {
        start(settings(64, 1, 64));
        model.stepDelayMillis = 10;
        Recorder running = run(request("slow", 200).deadline(Instant.now().plusMillis(150)).build());
        Recorder queued = run(request("queued", 5).deadline(Instant.now().plusMillis(50)).build());
        Completion c = running.await();
        assertEquals(FinishReason.DEADLINE, c.reason());
        assertTrue(c.usage().completionTokens() > 0 && c.usage().completionTokens() < 200);
        Completion q = queued.await();
        assertEquals(FinishReason.DEADLINE, q.reason());
        assertTrue(q.error().orElseThrow().contains("queue"), q.error().orElseThrow());
    }

    @Test
    void stopSequenceEndsTheTextBeforeIt() throws Exception {
        start();
        GenerationRequest probe = request("abc", 30).build();
        String full = text(FakeModel.reference(probe.prompt(), 30));
        String stop = full.substring(10, 13);
        int at = full.indexOf(stop);
        Recorder rec = run(request("abc", 30).stop(List.of("nomatch", stop)).build());
        Completion c = rec.await();
        assertEquals(FinishReason.STOP, c.reason());
        assertEquals(full.substring(0, at), c.text());
        assertEquals(c.text(), rec.streamed(), "held-back text never reaches the stream");
        assertEquals(at + stop.length(), c.usage().completionTokens());
    }

    @Test
    void heldBackTextIsReleasedWhenNoStopSequenceCompletes() throws Exception {
        start();
        GenerationRequest probe = request("xyz", 12).build();
        String full = text(FakeModel.reference(probe.prompt(), 12));
        // a stop sequence that starts with the last two characters but never completes
        String stop = full.substring(10, 12) + "#";
        Recorder rec = run(request("xyz", 12).stop(List.of(stop)).build());
        Completion c = rec.await();
        assertEquals(FinishReason.LENGTH, c.reason());
        assertEquals(full, c.text());
        assertEquals(full, rec.streamed());
        assertEquals("", rec.tokens.get(10).text(), "held back while it could start the stop sequence");
    }

    @Test
    void eosStopsUnlessIgnored() throws Exception {
        start();
        model.eosAt = 5;
        Recorder rec = run(request("eos", 20).build());
        Completion c = rec.await();
        assertEquals(FinishReason.STOP, c.reason());
        assertEquals(5, c.usage().completionTokens());
        assertEquals(FakeTokenizer.EOS, rec.tokens.get(4).token());
        assertEquals("", rec.tokens.get(4).text());
        Completion ignored = run(request("eos", 20).ignoreEos(true).build()).await();
        assertEquals(FinishReason.LENGTH, ignored.reason());
        assertEquals(20, ignored.usage().completionTokens());
    }

    @Test
    void multiByteCharactersAreNeverSplitAcrossTokens() throws Exception {
        start();
        model.script = "héllo ✓ wörld".getBytes(StandardCharsets.UTF_8);
        Recorder rec = run(request("utf", 40).build());
        Completion c = rec.await();
        assertEquals("héllo ✓ wörld", c.text());
        assertEquals(c.text(), rec.streamed());
        assertTrue(rec.tokens.stream().noneMatch(t -> t.text().contains("\uFFFD")));
        assertTrue(rec.tokens.stream().anyMatch(t -> t.text().isEmpty()), "half characters are held back");
    }

    @Test
    void logprobsOfAlternativesAreHandedOn() throws Exception {
        start();
        SamplingParams p = new SamplingParams(0, 0, 1, 0, 1, 0, 0, 0, null, 3);
        Recorder rec = run(request("lp", 3).sampling(p).build());
        rec.await();
        assertEquals(3, rec.tokens.get(0).top().size());
        assertEquals(-0.25f, rec.tokens.get(0).logprob());
    }

    @Test
    void submitRejectsWhatCannotRun() throws Exception {
        start(new Settings(64, 8, 64, 2, 0, KvDType.F32, true, false, Duration.ofSeconds(5), true, 0));
        RejectedException e = assertThrows(RejectedException.class,
                () -> scheduler.submit(GenerationRequest.builder("x", "nope", new int[] {1}).build(), new Recorder()));
        assertEquals(RejectedException.Reason.NOT_FOUND, e.reason());
        e = assertThrows(RejectedException.class, () -> scheduler.submit(request("hi", 255).build(), new Recorder()));
        assertEquals(RejectedException.Reason.INVALID, e.reason());
        assertTrue(e.getMessage().contains("max_tokens to at most 253"), e.getMessage());
        e = assertThrows(RejectedException.class,
                () -> scheduler.submit(GenerationRequest.builder("y", MODEL, new int[0]).build(), new Recorder()));
        assertEquals(RejectedException.Reason.INVALID, e.reason());
        e = assertThrows(RejectedException.class,
                () -> scheduler.submit(GenerationRequest.builder("z", MODEL, new int[] {1, 9999}).build(), new Recorder()));
        assertEquals(RejectedException.Reason.INVALID, e.reason());
        assertTrue(e.getMessage().contains("9999"));

        model.gate = new Semaphore(0);
        run(request("a", 3).build());
        awaitStepBlocked(); // the loop has taken "a" into a step: it no longer waits
        run(request("b", 3).build());
        run(request("c", 3).build()); // two wait
        e = assertThrows(RejectedException.class, () -> scheduler.submit(request("d", 3).build(), new Recorder()));
        assertEquals(RejectedException.Reason.OVERLOAD, e.reason());
        assertTrue(e.retryAfter().isPresent());

        scheduler.setKvCacheManager(null);
        e = assertThrows(RejectedException.class, () -> scheduler.submit(request("e", 3).build(), new Recorder()));
        assertEquals(RejectedException.Reason.UNAVAILABLE, e.reason());
        scheduler.setKvCacheManager(kv);
    }

    @Test
    void aStepThatThrowsFailsOnlyTheRequestThatCausedIt() throws Exception {
        start();
        model.gate = new Semaphore(0);
        model.poison = t -> t == FakeTokenizer.tokenOf('!');
        Recorder good = run(request("fine", 10).build());
        Recorder bad = run(request("bad!", 10).build());
        Recorder good2 = run(request("also fine", 10).build());
        model.gate.release(100_000);
        assertEquals(FinishReason.ERROR, bad.await().reason());
        assertTrue(bad.completion.error().orElseThrow().contains("engine failed"));
        assertEquals(FinishReason.LENGTH, good.await().reason());
        assertEquals(FinishReason.LENGTH, good2.await().reason());
    }

    @Test
    void droppedKvIsRebuiltByRePrefillWithTheSameText() throws Exception {
        start();
        model.stepDelayMillis = 3;
        GenerationRequest r = request("survive a drop", 40).build();
        Recorder rec = run(r);
        assertTrue(rec.firstToken.await(5, TimeUnit.SECONDS));
        Thread.sleep(20);
        kv.last().drop();
        Completion c = rec.await();
        assertEquals(FinishReason.LENGTH, c.reason(), c.error().orElse(""));
        assertArrayEquals(FakeModel.reference(r.prompt(), 40), rec.ids());
    }

    @Test
    void aNewKvCacheManagerTakesOverRunningRequests() throws Exception {
        start();
        model.stepDelayMillis = 3;
        GenerationRequest r = request("swap the cache", 40).build();
        Recorder rec = run(r);
        assertTrue(rec.firstToken.await(5, TimeUnit.SECONDS));
        FakeKvCache old = kv.last();
        FakeKvCache.Manager next = new FakeKvCache.Manager(4, 1024);
        // as DS does when the KV Cache++ bundle is updated: its service goes (the scheduler is
        // unbound), the stopping component closes its caches, then the new revision's service comes
        scheduler.setKvCacheManager(null);
        old.close();
        scheduler.setKvCacheManager(next);
        Completion c = rec.await();
        assertEquals(FinishReason.LENGTH, c.reason());
        assertArrayEquals(FakeModel.reference(r.prompt(), 40), rec.ids());
        assertEquals(1, next.created.size());
    }

    @Test
    void theKillSwitchEndsRunningRequests() throws Exception {
        start();
        model.stepDelayMillis = 3;
        Kill[] engaged = new Kill[1];
        scheduler.setKillSwitch(new KillSwitch() {
            @Override
            public Optional<Kill> check(KillScope... scopes) {
                return Optional.ofNullable(engaged[0]);
            }

            @Override
            public Kill engage(KillScope scope, String reason, String actor) {
                throw new UnsupportedOperationException();
            }

            @Override
            public boolean release(KillScope scope, String actor) {
                return false;
            }

            @Override
            public List<Kill> engaged() {
                return List.of();
            }
        });
        Recorder rec = run(request("kill me", 200).build());
        assertTrue(rec.firstToken.await(5, TimeUnit.SECONDS));
        engaged[0] = new Kill(KillScope.GLOBAL, "drill", "test", Instant.now(), "INC-1");
        Completion c = rec.await();
        assertEquals(FinishReason.CONTENT_FILTER, c.reason());
        assertTrue(c.error().orElseThrow().contains("drill"));
    }

    @Test
    void telemetryGetsEveryStepAndEveryFinishedRequest() throws Exception {
        List<RequestRecord> records = new CopyOnWriteArrayList<>();
        List<StepRecord> steps = new CopyOnWriteArrayList<>();
        start();
        scheduler.setTelemetry(new Telemetry() {
            @Override
            public void record(RequestRecord record) {
                records.add(record);
            }

            @Override
            public void step(StepRecord record) {
                steps.add(record);
            }
        });
        run(request("telemetry", 5).attributes(java.util.Map.of("endpoint", "/v1/completions")).build()).await();
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (records.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(1); // the record may follow the listener's completion
        }
        Thread.sleep(20); // and no second record follows
        assertEquals(1, records.size());
        RequestRecord r = records.get(0);
        assertEquals(Outcome.OK, r.outcome());
        assertEquals("length", r.finishReason());
        assertEquals("/v1/completions", r.endpoint());
        assertEquals(5, r.outputTokens());
        assertTrue(steps.size() >= 5);
        assertEquals(MODEL, steps.get(0).model());
        assertTrue(steps.get(0).prefillTokens() > 0);
    }

    @Test
    void aWithdrawnModelFinishesItsRequestsWhileNewOnesGoToItsSuccessor() throws Exception {
        start();
        model.stepDelayMillis = 2;
        Recorder old = run(request("old model", 30).build());
        assertTrue(old.firstToken.await(5, TimeUnit.SECONDS));
        FakeModel successor = new FakeModel(MODEL, 256);
        scheduler.addModel(successor, MODEL, 2, 0);
        scheduler.removeModel(model);
        Recorder fresh = run(request("new model", 5).build());
        assertEquals(FinishReason.LENGTH, old.await().reason());
        assertEquals(FinishReason.LENGTH, fresh.await().reason());
        assertTrue(successor.steps.stream().anyMatch(s -> s.ids().contains(fresh.completion.requestId())));
        assertTrue(model.steps.stream().noneMatch(s -> s.ids().contains(fresh.completion.requestId())));
    }

    @Test
    void closingDrainsHeldRequests() throws Exception {
        start();
        model.stepDelayMillis = 2;
        Recorder rec = run(request("drain me", 30).build());
        assertTrue(rec.firstToken.await(5, TimeUnit.SECONDS));
        scheduler.close();
        assertEquals(FinishReason.LENGTH, rec.await().reason());
        assertThrows(RejectedException.class, () -> scheduler.submit(request("late", 3).build(), new Recorder()));
        scheduler = null;
    }

    @Test
    void requestsAndLoadShowRunningAndQueued() throws Exception {
        start(settings(64, 1, 64));
        model.gate = new Semaphore(0);
        run(request("running", 5).build());
        awaitStepBlocked();
        run(request("queued", 5).priority(PriorityClass.BATCH).build());
        List<RequestStatus> st = scheduler.requests();
        assertEquals(2, st.size());
        assertEquals(RequestStatus.State.RUNNING, st.get(0).state());
        assertEquals(RequestStatus.State.QUEUED, st.get(1).state());
        assertEquals(1, scheduler.load(MODEL, PriorityClass.INTERACTIVE).running());
        assertEquals(1, scheduler.load(MODEL, PriorityClass.BATCH).waiting());
        assertTrue(scheduler.load(MODEL, PriorityClass.BATCH).waitingTokens() > 0);
        assertEquals(0, scheduler.load("other", PriorityClass.BATCH).waiting());
        assertNull(scheduler.current("other"));
        assertFalse(scheduler.loops().isEmpty());
    }

    @Test
    void aShortInteractivePromptIsPrefilledAheadOfTheRunningDecodes() throws Exception {
        for (boolean prefillFirst : new boolean[] {true, false}) {
            model = new FakeModel(MODEL, 256);
            start(new Settings(64, 8, 32, 1024, 0, KvDType.F32, true, false, Duration.ofSeconds(5), prefillFirst, 0));
            model.stepDelayMillis = 2;
            Recorder running = run(request("long running", 60).build());
            assertTrue(running.firstToken.await(5, TimeUnit.SECONDS));
            GenerationRequest late = request("late", 5).build();
            Recorder rec = run(late);
            assertEquals(FinishReason.LENGTH, rec.await().reason());
            running.await();
            List<FakeModel.Step> steps = new ArrayList<>(model.steps);
            int first = 0;
            while (!steps.get(first).ids().contains(late.requestId())) {
                first++;
            }
            if (prefillFirst) {
                assertEquals(List.of(late.requestId()), steps.get(first).ids(), "the prefill has a step of its own");
                assertTrue(steps.get(first + 1).ids().containsAll(List.of("r" + (ids - 1), late.requestId())),
                        "then everyone decodes: " + steps.get(first + 1).ids());
            } else {
                assertEquals(2, steps.get(first).ids().size(), "the prefill shares the step with the decode");
            }
            for (int i = 1; i < steps.size(); i++) {
                boolean both = steps.get(i - 1).ids().size() == 1 && steps.get(i).ids().size() == 1
                        && !steps.get(i - 1).ids().get(0).equals(steps.get(i).ids().get(0));
                assertFalse(both && steps.get(i).ids().contains(late.requestId()) && i > first + 1,
                        "decodes are never skipped twice in a row");
            }
            stop();
            scheduler = null;
        }
    }
}
