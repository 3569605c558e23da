package org.halyard.mode.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.lang.annotation.Annotation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.halyard.rest.api.ApiException;
import org.halyard.rest.api.Caller;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.Quota;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.batch.BatchInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The batch mode's jobs outside OSGi: real H2 and files in a temporary folder, fake endpoints. */
class BatchJobsTest {

    static final String URL = "/v1/chat/completions";
    static final Caller ALICE = new Caller("alice", Set.of(Caller.USER), "", Quota.UNLIMITED);
    static final Caller BOB = new Caller("bob", Set.of(Caller.USER), "", Quota.UNLIMITED);

    @TempDir
    Path dir;

    final FakeEndpoints endpoints = new FakeEndpoints();
    final List<BatchJobs> modes = new ArrayList<>();
    int retentionHours = 720;
    int maxLines = 1000;
    int concurrent = 4;
    Clock clock = Clock.systemUTC();

    /** A clock tests can move. */
    static final class MovableClock extends Clock {
        volatile Instant now = Instant.now();

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    BatchConfig config() {
        Path data = dir;
        int retention = retentionHours;
        int lines = maxLines;
        int conc = concurrent;
        return new BatchConfig() {
            @Override public Class<? extends Annotation> annotationType() { return BatchConfig.class; }
            @Override public String dataDirectory() { return data.toString(); }
            @Override public int maxConcurrentLines() { return conc; }
            @Override public int maxLinesPerBatch() { return lines; }
            @Override public long maxFileSizeBytes() { return 100_000; }
            @Override public int retention_hours() { return retention; }
            @Override public int cleanupInterval_seconds() { return 3600; }
            @Override public int maxCompletionWindow_hours() { return 48; }
            @Override public int maxPromptTokens() { return 100; }
            @Override public int maxOutputTokens() { return 50; }
            @Override public int maxQueuedRequests() { return 2; }
        };
    }

    BatchJobs start() throws Exception {
        BatchJobs m = new BatchJobs(config(), clock);
        m.bindEndpoints(endpoints);
        modes.add(m);
        return m;
    }

    @AfterEach
    void stop() {
        for (BatchJobs m : modes) {
            m.deactivate();
        }
        endpoints.close();
    }

    static String line(String id) {
        return "{\"custom_id\":\"" + id + "\",\"method\":\"POST\",\"url\":\"" + URL + "\",\"body\":{\"model\":\"m\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"" + id + "\"}]}}";
    }

    static String file(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(line("line-" + i)).append('\n');
        }
        return sb.toString();
    }

    static FileRecord upload(BatchJobs m, Caller c, String content) throws Exception {
        return m.upload(c.tenant(), "in.jsonl", new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)));
    }

    static BatchRecord create(BatchJobs m, String content, String window) throws Exception {
        return m.create(ALICE, upload(m, ALICE, content).id(), URL, window, null);
    }

    static BatchRecord await(BatchJobs m, String id, String... statuses) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        BatchRecord b = null;
        while (System.nanoTime() < end) {
            b = m.batch(ALICE, id);
            if (List.of(statuses).contains(b.status())) {
                return b;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("batch " + id + " is " + (b == null ? "?" : b.status()) + ", not " + List.of(statuses));
    }

    static List<JsonNode> records(BatchJobs m, String fileId) throws Exception {
        if (fileId == null) {
            return List.of();
        }
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(m.content(m.file(ALICE, fileId)))) {
            out.add(Jsonl.MAPPER.readTree(l));
        }
        return out;
    }

    /** custom_id → times it appears, over the output and error files. */
    static Map<String, Integer> answered(BatchJobs m, BatchRecord b) throws Exception {
        Map<String, Integer> n = new HashMap<>();
        for (String f : new String[] {b.outputFileId(), b.errorFileId()}) {
            for (JsonNode r : records(m, f)) {
                n.merge(r.get("custom_id").asText(), 1, Integer::sum);
            }
        }
        return n;
    }

    static void assertEveryLineOnce(BatchJobs m, BatchRecord b, int lines) throws Exception {
        Map<String, Integer> n = answered(m, b);
        assertEquals(lines, n.size(), "lines answered: " + n.keySet());
        for (int i = 0; i < lines; i++) {
            assertEquals(1, n.getOrDefault("line-" + i, 0), "line-" + i + " answered once");
        }
        assertEquals(lines, b.completed() + b.failed());
    }

    @Test
    void aBatchRunsEveryLineOnceAndCompletesWithItsOutputFile() throws Exception {
        BatchJobs m = start();
        BatchRecord b = create(m, file(25), "24h");
        assertEquals("validating", b.status());
        assertEquals(b.createdAt() + 24 * 3600, b.expiresAt());
        b = await(m, b.id(), "completed");
        assertEquals(25, b.total());
        assertEquals(25, b.completed());
        assertEquals(0, b.failed());
        assertNull(b.errorFileId(), "no error file without errors");
        assertNotNull(b.inProgressAt());
        assertNotNull(b.finalizingAt());
        assertEveryLineOnce(m, b, 25);
        JsonNode first = records(m, b.outputFileId()).get(0);
        assertEquals(200, first.at("/response/status_code").asInt());
        assertEquals("chat.completion", first.at("/response/body/object").asText());
        assertTrue(first.at("/response/body/choices/0/message/content").asText().startsWith("echo line-"));
        assertTrue(first.get("id").asText().startsWith("batch_req_"));
        assertTrue(first.get("error").isNull());
        assertEquals(FileRecord.PURPOSE_OUTPUT, m.file(ALICE, b.outputFileId()).purpose());
        assertEquals(25, endpoints.totalCalls());
        long expires = b.expiresAt();
        String id = b.id();
        assertTrue(endpoints.options.stream().allMatch(o -> o.mode().equals("batch")
                && o.deadline().equals(Instant.ofEpochSecond(expires)) && o.attributes().get("batch_id").equals(id)));
    }

    @Test
    void aFileWithBadLinesFailsValidationWithAnErrorPerLine() throws Exception {
        BatchJobs m = start();
        String content = line("a") + "\n{oops\n" + line("a") + "\n";
        BatchRecord b = await(m, create(m, content, "24h").id(), "failed");
        JsonNode errors = Jsonl.MAPPER.readTree(b.errors());
        assertEquals("list", errors.get("object").asText());
        assertEquals(2, errors.get("data").size());
        assertEquals(2, errors.at("/data/0/line").asInt());
        assertEquals("duplicate_custom_id", errors.at("/data/1/code").asText());
        assertNotNull(b.failedAt());
        assertEquals(0, endpoints.totalCalls(), "nothing of an invalid file runs");
        BatchInfo info = m.get(b.id()).orElseThrow();
        assertEquals(2, info.errors().size());
        assertTrue(info.errors().get(0).startsWith("line 2: "), info.errors().toString());
    }

    @Test
    void requestsTheEndpointRefusesGoToTheErrorFileWithTheirStatus() throws Exception {
        endpoints.answer = p -> p.equals("line-3") ? FakeEndpoints.error(400, "invalid_value") : FakeEndpoints.ok(p);
        BatchJobs m = start();
        BatchRecord b = await(m, create(m, file(6), "24h").id(), "completed");
        assertEquals(5, b.completed());
        assertEquals(1, b.failed());
        List<JsonNode> errors = records(m, b.errorFileId());
        assertEquals(1, errors.size());
        assertEquals("line-3", errors.get(0).get("custom_id").asText());
        assertEquals(400, errors.get(0).at("/response/status_code").asInt());
        assertEquals("invalid_value", errors.get(0).at("/response/body/error/code").asText());
        assertEveryLineOnce(m, b, 6);
    }

    @Test
    void refusalsAndServerFailuresRunAgainWhileClientErrorsDoNot() throws Exception {
        AtomicInteger refusals = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        AtomicInteger notServed = new AtomicInteger();
        endpoints.answer = p -> {
            if (p.equals("line-2") && notServed.incrementAndGet() == 1) {
                return FakeEndpoints.error(404, "model_not_found"); // the model loads after a restart
            }
            if (p.equals("line-0") && refusals.incrementAndGet() <= 3) {
                return FakeEndpoints.error(503, "overloaded");
            }
            if (p.equals("line-1")) {
                failures.incrementAndGet();
                return FakeEndpoints.error(500, "generation_failed");
            }
            return FakeEndpoints.ok(p);
        };
        BatchJobs m = start();
        BatchRecord b = await(m, create(m, file(3), "24h").id(), "completed");
        assertEquals(2, b.completed(), "line-0 succeeded after its refusals");
        assertEquals(1, b.failed());
        assertEquals(BatchRunner.MAX_ATTEMPTS, failures.get(), "a failing line is tried a bounded number of times");
        assertEquals(4, endpoints.calls.get("line-0").get());
        assertEquals(2, endpoints.calls.get("line-2").get());
        assertEveryLineOnce(m, b, 3);
    }

    @Test
    void cancellingStopsRunningLinesKeepsTheOutputAndAnswersTheRest() throws Exception {
        concurrent = 2;
        BatchJobs m = start();
        endpoints.hold = true;
        BatchRecord b = create(m, file(10), "24h");
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (endpoints.held.size() < 2 && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        endpoints.held.get(0).release(); // one line is answered before the cancel
        await(m, b.id(), "in_progress");
        while (m.batch(ALICE, b.id()).completed() < 1 && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        BatchRecord c = m.cancel(ALICE, b.id());
        assertTrue(List.of("cancelling", "cancelled").contains(c.status()), c.status());
        b = await(m, b.id(), "cancelled");
        assertNotNull(b.cancellingAt());
        assertNotNull(b.cancelledAt());
        assertEquals(1, b.completed());
        assertEquals(9, b.failed());
        assertEveryLineOnce(m, b, 10);
        for (JsonNode r : records(m, b.errorFileId())) {
            assertEquals("batch_cancelled", r.at("/error/code").asText());
            assertTrue(r.get("response").isNull());
        }
        assertTrue(endpoints.totalCalls() <= 3, "no line starts after the cancel: " + endpoints.totalCalls());
        String id = b.id();
        ApiException again = assertThrows(ApiException.class, () -> m.cancel(ALICE, id));
        assertEquals(409, again.getResponse().getStatus());
    }

    @Test
    void aBatchWhoseWindowEndsExpiresWithItsUnfinishedLinesInTheErrorFile() throws Exception {
        MovableClock c = new MovableClock();
        clock = c;
        concurrent = 1;
        BatchJobs m = start();
        endpoints.hold = true;
        BatchRecord b = create(m, file(4), "1h");
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (endpoints.held.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        endpoints.held.get(0).release();
        while (m.batch(ALICE, b.id()).completed() < 1 && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        c.now = c.now.plus(Duration.ofMinutes(61));
        b = await(m, b.id(), "expired");
        assertNotNull(b.expiredAt());
        assertEquals(1, b.completed());
        assertEquals(3, b.failed());
        assertEveryLineOnce(m, b, 4);
        assertTrue(records(m, b.errorFileId()).stream().allMatch(r -> r.at("/error/code").asText().equals("batch_expired")));
    }

    @Test
    void aRestartResumesTheBatchWithoutLosingOrRepeatingALine() throws Exception {
        concurrent = 3;
        BatchJobs first = start();
        AtomicInteger answered = new AtomicInteger();
        endpoints.answer = p -> {
            answered.incrementAndGet();
            return FakeEndpoints.ok(p);
        };
        BatchRecord b = create(first, file(30), "24h");
        // answer some lines, then hold the rest as if the engine were busy with them
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (answered.get() < 10 && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        endpoints.hold = true;
        Thread.sleep(100);
        first.runner().sync();
        int before = first.batch(ALICE, b.id()).completed();
        assertTrue(before >= 10 && before < 30, "answered before the crash: " + before);
        // the crash: the process dies (in-flight lines are lost) in the middle of writing a record
        first.deactivate();
        modes.remove(first);
        Path log = dir.resolve("work").resolve(b.id()).resolve(BatchRunner.OUTPUT);
        Files.writeString(log, "{\"id\":\"batch_req_torn\",\"custom_id\":\"line-29\",\"resp", StandardOpenOption.APPEND);
        Map<String, Integer> callsBefore = new HashMap<>();
        endpoints.calls.forEach((k, v) -> callsBefore.put(k, v.get()));
        endpoints.held.clear();
        endpoints.hold = false;

        BatchJobs second = start();
        BatchRecord done = await(second, b.id(), "completed");
        assertEveryLineOnce(second, done, 30);
        assertEquals(30, done.completed());
        // lines answered before the crash did not run again
        Set<String> answeredBefore = new java.util.HashSet<>();
        for (JsonNode r : records(second, done.outputFileId()).subList(0, before)) {
            answeredBefore.add(r.get("custom_id").asText());
        }
        for (String id : answeredBefore) {
            assertEquals(callsBefore.get(id), endpoints.calls.get(id).get(), id + " ran again after the restart");
        }
    }

    @Test
    void aFinalizationInterruptedByACrashIsFinishedOnStartWithTheSameFiles() throws Exception {
        BatchJobs first = start();
        endpoints.hold = true;
        BatchRecord b = create(first, file(2), "24h");
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (endpoints.held.size() < 2 && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        endpoints.held.get(0).release();
        while (first.batch(ALICE, b.id()).completed() < 1 && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        first.deactivate();
        modes.remove(first);
        // as if the process died while ending the batch: the outcome and file ids were recorded
        // and the output log already moved in
        try (BatchStore store = BatchStore.open(dir.resolve("db"))) {
            store.beginFinalize(b.id(), BatchRecord.CANCELLED, "file-out1", "file-err1", 1);
        }
        Files.move(dir.resolve("work").resolve(b.id()).resolve(BatchRunner.OUTPUT), dir.resolve("files/file-out1"));
        endpoints.hold = false;
        BatchJobs second = start();
        BatchRecord done = await(second, b.id(), "cancelled");
        assertEquals("file-out1", done.outputFileId());
        assertNull(done.errorFileId(), "the empty error log gives no file");
        assertEquals(1, done.completed());
        assertEquals(1, records(second, "file-out1").size());
        second.runner().sync();
        assertFalse(Files.exists(dir.resolve("work").resolve(b.id())));
    }

    @Test
    void retentionDeletesEndedBatchesTheirFilesAndOldUploads() throws Exception {
        retentionHours = 0;
        BatchJobs m = start();
        BatchRecord b = await(m, create(m, file(2), "24h").id(), "completed");
        String out = b.outputFileId();
        assertTrue(Files.exists(dir.resolve("files").resolve(out)));
        m.runner().cleanUpNow();
        assertEquals(404, assertThrows(ApiException.class, () -> m.batch(ALICE, b.id())).getResponse().getStatus());
        assertEquals(404, assertThrows(ApiException.class, () -> m.file(ALICE, out)).getResponse().getStatus());
        assertEquals(404, assertThrows(ApiException.class, () -> m.file(ALICE, b.inputFileId())).getResponse().getStatus());
        assertFalse(Files.exists(dir.resolve("files").resolve(out)));
        assertEquals(List.of(), m.files(ALICE, null, null, 10, false));
    }

    @Test
    void anUnfinishedBatchKeepsItsInputFromDeletionAndRetention() throws Exception {
        retentionHours = 0;
        BatchJobs m = start();
        endpoints.hold = true;
        BatchRecord b = create(m, file(2), "24h");
        ApiException e = assertThrows(ApiException.class, () -> m.deleteFile(ALICE, b.inputFileId()));
        assertEquals(409, e.getResponse().getStatus());
        m.runner().cleanUpNow();
        assertEquals(b.inputFileId(), m.file(ALICE, b.inputFileId()).id());
    }

    @Test
    void uploadsAreAtomicAndWhatACrashLeftIsRemovedOnStart() throws Exception {
        BatchJobs m = start();
        FileRecord f = upload(m, ALICE, file(1));
        m.deactivate();
        modes.remove(m);
        Files.writeString(dir.resolve("files/file-half.tmp"), "half an upload");
        Files.writeString(dir.resolve("files/file-unlisted"), "written, never committed");
        BatchJobs again = start();
        again.runner().sync();
        assertFalse(Files.exists(dir.resolve("files/file-half.tmp")));
        assertFalse(Files.exists(dir.resolve("files/file-unlisted")));
        assertEquals(file(1), Files.readString(again.content(again.file(ALICE, f.id()))));
    }

    @Test
    void uploadsOverTheSizeLimitAreRefusedAndNotKept() throws Exception {
        BatchJobs m = start();
        ApiException e = assertThrows(ApiException.class, () -> upload(m, ALICE, "x".repeat(100_001)));
        assertEquals(413, e.getResponse().getStatus());
        try (var s = Files.list(dir.resolve("files"))) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void callersSeeOnlyTheirOwnFilesAndBatches() throws Exception {
        BatchJobs m = start();
        BatchRecord b = create(m, file(1), "24h");
        assertEquals(404, assertThrows(ApiException.class, () -> m.batch(BOB, b.id())).getResponse().getStatus());
        assertEquals(404, assertThrows(ApiException.class, () -> m.file(BOB, b.inputFileId())).getResponse().getStatus());
        assertEquals(List.of(), m.batches(BOB, null, 10));
        Caller admin = new Caller("root", Set.of(Caller.ADMIN), "", Quota.UNLIMITED);
        assertEquals(b.id(), m.batch(admin, b.id()).id());
    }

    @Test
    void completionWindowsAreCheckedAndBadRequestsRefused() throws Exception {
        BatchJobs m = start();
        String in = upload(m, ALICE, file(1)).id();
        for (String w : new String[] {"forever", "0h", "49h", ""}) {
            ApiException e = assertThrows(ApiException.class, () -> m.create(ALICE, in, URL, w, null), w);
            assertEquals(400, e.getResponse().getStatus(), w);
        }
        assertEquals(404, assertThrows(ApiException.class, () -> m.create(ALICE, "file-nope", URL, "24h", null))
                .getResponse().getStatus());
        assertEquals(Duration.ofMinutes(90), m.window("90m"));
    }

    @Test
    void theServingModeRefusesWhatItCannotRun() throws Exception {
        BatchMode m = new BatchMode(config());
        GenerationRequest r = GenerationRequest.builder("r1", "m", new int[] {1, 2, 3}).maxTokens(5).build();
        RejectedException none = assertThrows(RejectedException.class, () -> m.submit(r, null));
        assertEquals(RejectedException.Reason.UNAVAILABLE, none.reason(), "no scheduler");
        GenerationRequest tooLong = GenerationRequest.builder("r2", "m", new int[] {1}).maxTokens(51).build();
        assertEquals(RejectedException.Reason.INVALID, assertThrows(RejectedException.class,
                () -> m.submit(tooLong, null)).reason());
        assertEquals(org.halyard.serving.api.PriorityClass.BATCH, m.priority());
        assertEquals("batch", m.name());
    }
}
