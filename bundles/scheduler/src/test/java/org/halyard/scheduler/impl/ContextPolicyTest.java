package org.halyard.scheduler.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.ContextPolicy.Overflow;
import org.halyard.serving.api.FinishReason;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.KvPolicy;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.RejectedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Context policies in the scheduler: REJECT (the default), TRUNCATE (the prompt's start goes)
 * and SLIDE (attention sinks plus a sliding window, the KV shifted and discarded between steps);
 * and what ultra-long requests get: their KV options, and chunks that leave room for others.
 */
class ContextPolicyTest {

    static final String MODEL = "fake";
    static final int CONTEXT = 64;

    FakeModel model = new FakeModel(MODEL, CONTEXT);
    FakeKvCache.Manager kv = new FakeKvCache.Manager(4, 4096);
    BatchScheduler scheduler;
    int ids;

    void start(int batchTokens, int chunk) {
        scheduler = new BatchScheduler(new Settings(batchTokens, 16, chunk, 1024, 0, KvDType.F32, true, false,
                Duration.ofSeconds(5), true, 0));
        scheduler.setKvCacheManager(kv);
        scheduler.addModel(model, MODEL, 1, 0);
    }

    @AfterEach
    void stop() {
        if (scheduler != null) {
            scheduler.close();
        }
    }

    GenerationRequest.Builder request(int promptLength, int maxTokens) {
        byte[] text = new byte[promptLength - 1];
        for (int i = 0; i < text.length; i++) {
            text[i] = (byte) ('a' + (i * 7 + i / 13) % 26);
        }
        return GenerationRequest.builder("r" + (++ids), MODEL,
                model.tokenizer.encode(new String(text, java.nio.charset.StandardCharsets.US_ASCII), true, false))
                .maxTokens(maxTokens);
    }

    BatchSchedulerTest.Recorder run(GenerationRequest r) throws RejectedException {
        BatchSchedulerTest.Recorder rec = new BatchSchedulerTest.Recorder();
        scheduler.submit(r, rec);
        return rec;
    }

    @Test
    void rejectIsTheDefaultAndSaysWhatWouldFit() {
        start(64, 16);
        RejectedException e = assertThrows(RejectedException.class, () -> run(request(60, 10).build()));
        assertEquals(RejectedException.Reason.INVALID, e.reason());
        assertTrue(e.getMessage().contains("set max_tokens to at most 4"), e.getMessage());
        assertTrue(e.getMessage().contains("context_policy truncate or slide"), e.getMessage());
    }

    @Test
    void truncateKeepsTheBosAndTheLastTokensAndReportsWhatWent() throws Exception {
        start(64, 16);
        GenerationRequest r = request(100, 10).context(ContextPolicy.of(Overflow.TRUNCATE)).build();
        Completion c = run(r).await();
        int[] kept = new int[CONTEXT - 10];
        kept[0] = FakeTokenizer.BOS;
        System.arraycopy(r.prompt(), 100 - (kept.length - 1), kept, 1, kept.length - 1);
        assertEquals(FinishReason.LENGTH, c.reason());
        assertEquals(BatchSchedulerTest.text(FakeModel.reference(kept, 10)), c.text());
        assertEquals(Overflow.TRUNCATE, c.context().policy());
        assertEquals(100 - kept.length, c.context().truncatedTokens());
        assertEquals(0, c.context().evictedTokens());
        assertEquals(CONTEXT, c.context().windowTokens());

        RejectedException e = assertThrows(RejectedException.class,
                () -> run(request(10, CONTEXT).context(ContextPolicy.of(Overflow.TRUNCATE)).build()));
        assertTrue(e.getMessage().contains("must be below the model's context"), e.getMessage());
    }

    @Test
    void slideGoesFarPastTheContextWithinItsWindowAndMatchesTheSlidingModel() throws Exception {
        start(64, 16);
        ContextPolicy p = new ContextPolicy(Overflow.SLIDE, 4, 32, 8);
        GenerationRequest r = request(300, 100).context(p).build(); // 400 tokens through a 32-slot window
        BatchSchedulerTest.Recorder rec = run(r);
        Completion c = rec.await();
        assertEquals(FinishReason.LENGTH, c.reason(), c.error().orElse(""));
        assertArrayEquals(FakeModel.slidingReference(r.prompt(), 100, 32, 4, 8), rec.ids());
        assertTrue(kv.last().open.isEmpty(), "released at the end");
        assertEquals(Overflow.SLIDE, c.context().policy());
        assertEquals(32, c.context().windowTokens());
        // 399 tokens fed through 32 slots: every slide drops 8, starting when the window is full
        assertEquals((399 - 32 + 7) / 8 * 8, c.context().evictedTokens());
        assertTrue(model.shifts.stream().allMatch(s -> s[2] == -8 && s[0] == 12), "keys behind the dropped slots move down 8");
        assertEquals(c.context().evictedTokens() / 8, model.shifts.size());
    }

    @Test
    void slidingDoesNotDependOnHowThePromptIsChunked() throws Exception {
        ContextPolicy p = new ContextPolicy(Overflow.SLIDE, 4, 24, 4);
        int[] first = null;
        for (int chunk : new int[] {16, 5, 1}) {
            model = new FakeModel(MODEL, CONTEXT);
            kv = new FakeKvCache.Manager(4, 4096);
            start(64, chunk);
            ids = 0;
            BatchSchedulerTest.Recorder rec = run(request(90, 30).context(p).build());
            rec.await();
            assertTrue(kv.last().open.isEmpty(), "released");
            if (first == null) {
                first = rec.ids();
            } else {
                assertArrayEquals(first, rec.ids(), "chunks of " + chunk);
            }
            scheduler.close();
            scheduler = null;
        }
    }

    @Test
    void aSlidingWindowNeverHoldsMoreThanItsSize() throws Exception {
        start(64, 16);
        model.gate = new java.util.concurrent.Semaphore(0);
        ContextPolicy p = new ContextPolicy(Overflow.SLIDE, 4, 32, 8);
        BatchSchedulerTest.Recorder rec = run(request(200, 40).context(p).build());
        FakeKvCache.Seq seq = null;
        for (int i = 0; i < 200 && seq == null; i++) {
            model.gate.release(1);
            Thread.sleep(5);
            seq = kv.created.isEmpty() || kv.last().open.isEmpty() ? null : kv.last().open.get(0);
        }
        model.gate.release(100_000);
        rec.await();
        assertTrue(seq != null);
        assertTrue(seq.maxLength <= 32, "held " + seq.maxLength + " slots");
        assertTrue(seq.discarded >= 200, "discarded " + seq.discarded);
    }

    @Test
    void aModelThatCannotShiftEndsTheRequestInsteadOfAttendingWrongly() throws Exception {
        start(64, 16);
        model.shiftable = false;
        Completion c = run(request(100, 10).context(new ContextPolicy(Overflow.SLIDE, 4, 32, 8)).build()).await();
        assertEquals(FinishReason.ERROR, c.reason());
        assertTrue(c.error().orElseThrow().contains("cannot slide"), c.error().toString());
        // a prompt that fits the window still generates until the window is full
        Completion d = run(request(20, 30).context(new ContextPolicy(Overflow.SLIDE, 4, 32, 8)).build()).await();
        assertEquals(FinishReason.LENGTH, d.reason());
        assertEquals(32 - 20 + 1, d.usage().completionTokens());
    }

    @Test
    void slideRefusesWindowsTheModelNeverSaw() {
        start(64, 16);
        RejectedException e = assertThrows(RejectedException.class,
                () -> run(request(10, 10).context(new ContextPolicy(Overflow.SLIDE, 4, 128, 8)).build()));
        assertTrue(e.getMessage().contains("larger than the model's context"), e.getMessage());
        e = assertThrows(RejectedException.class,
                () -> run(request(10, 10).context(new ContextPolicy(Overflow.SLIDE, 16, 32, 16)).build()));
        assertTrue(e.getMessage().contains("must leave room"), e.getMessage());
    }

    @Test
    void aRequestsKvPolicyChoosesItsBlocksOffloadAndBudget() throws Exception {
        start(64, 16);
        GenerationRequest ultraLong = request(20, 4).priority(PriorityClass.ULTRA_LONG)
                .kv(new KvPolicy(KvDType.INT8, true, 123_456)).build();
        run(ultraLong).await();
        run(request(20, 4).build()).await();
        KvSequenceOptions a = kv.last().opened.get(0).options;
        KvSequenceOptions b = kv.last().opened.get(1).options;
        assertEquals(new KvSequenceOptions(KvDType.INT8, true, true, 123_456, ""), a);
        assertEquals(new KvSequenceOptions(KvDType.F32, true, false, 0, ""), b);
    }

    @Test
    void anUltraLongPromptIsChunkedAroundEveryInteractiveDecode() throws Exception {
        model = new FakeModel(MODEL, 4096);
        start(48, 32);
        model.gate = new java.util.concurrent.Semaphore(0);
        BatchSchedulerTest.Recorder chat = run(request(8, 40).build());
        GenerationRequest doc = request(2000, 4).priority(PriorityClass.ULTRA_LONG).build();
        BatchSchedulerTest.Recorder longRec = run(doc);
        Thread.sleep(50);
        model.gate.release(100_000);
        chat.await();
        longRec.await();
        assertArrayEquals(FakeModel.reference(doc.prompt(), 4), longRec.ids());
        int first = -1;
        int last = -1;
        for (int i = 0; i < model.steps.size(); i++) {
            if (model.steps.get(i).ids().contains("r1")) {
                first = first < 0 ? i : first;
                last = i;
            }
        }
        int together = 0;
        for (int i = first; i <= last; i++) {
            FakeModel.Step s = model.steps.get(i);
            assertTrue(s.ids().contains("r1"), "step " + i + " left the decoding chat request out: " + s);
            int d = s.ids().indexOf(doc.requestId());
            if (d >= 0) {
                together++;
                assertTrue(s.counts().get(d) <= 32, "chunk " + s.counts().get(d));
            }
        }
        assertTrue(together >= 5, "the document's prefill shared " + together + " steps with the chat decodes");
    }

    @Test
    void besideInteractiveDecodesAnUltraLongPromptTakesItsCappedShareAndWholeChunksAlone() throws Exception {
        model = new FakeModel(MODEL, 4096);
        scheduler = new BatchScheduler(new Settings(256, 16, 128, 1024, 0, KvDType.F32, true, false,
                Duration.ofSeconds(5), true, 0, 16));
        scheduler.setKvCacheManager(kv);
        scheduler.addModel(model, MODEL, 1, 0);
        model.gate = new java.util.concurrent.Semaphore(0);
        BatchSchedulerTest.Recorder chat = run(request(8, 20).build());
        GenerationRequest doc = request(3000, 4).priority(PriorityClass.ULTRA_LONG).build();
        BatchSchedulerTest.Recorder longRec = run(doc);
        Thread.sleep(50);
        model.gate.release(100_000);
        chat.await();
        longRec.await();
        assertArrayEquals(FakeModel.reference(doc.prompt(), 4), longRec.ids());
        int beside = 0;
        int alone = 0;
        for (FakeModel.Step s : model.steps) {
            int d = s.ids().indexOf(doc.requestId());
            if (d < 0) {
                continue;
            }
            if (s.ids().contains("r1")) {
                beside++;
                assertTrue(s.counts().get(d) <= 16, "beside the chat: " + s);
            } else if (s.counts().get(d) > 16) {
                alone++;
                assertTrue(s.counts().get(d) <= 128, "alone: " + s);
            }
        }
        assertTrue(beside >= 10, "the document shared " + beside + " steps with the chat decodes");
        assertTrue(alone >= 10, "whole chunks once the chat ended: " + alone);
    }

}
