package org.halyard.mode.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.halyard.rest.api.CallOptions;
import org.halyard.rest.api.Caller;
import org.halyard.rest.api.EndpointCall;
import org.halyard.rest.api.EndpointResponse;
import org.halyard.rest.api.OpenAiEndpoints;
import org.halyard.serving.api.Quota;

/**
 * Runs batches: validates them, feeds their lines to the OpenAI endpoints (through the batch
 * serving mode, so they are scheduled in the lowest class) at most {@code maxConcurrentLines} at
 * a time, earliest deadline first, writes each answer to the batch's output or error log, and
 * ends each batch (completed, cancelled, expired) by turning its logs into files.
 *
 * <p>All batch state lives on one thread (an actor): answers arrive on scheduler threads and are
 * handed over, so no lock guards it and the order of events is the order they are handled in.
 *
 * <p>Exactly once, across crashes: a line is answered when its record is in a log (see
 * {@link ResultLog}); it is dispatched only when no log holds it and it is not running; an
 * answer is written only while this runner is open. After a crash, the logs are repaired and
 * every line without a record runs (again): a line that was running when the process died was
 * never answered. Ending is recorded before it is done ({@link BatchStore#beginFinalize}) and
 * redone after a crash: the logs move in as files under ids chosen once.
 */
final class BatchRunner implements AutoCloseable {

    /** The serving mode the lines run in. */
    static final String MODE = "batch";
    /** Tries of a line that fails on the server (500, 503 without admission refusal) before its error is its answer. */
    static final int MAX_ATTEMPTS = 3;
    /**
     * After a start, how long a line whose model is not served waits for it (the models load
     * while the runner already resumes) before {@code model_not_found} is its answer.
     */
    static final Duration MODEL_WAIT = Duration.ofMinutes(2);
    static final String OUTPUT = "output.jsonl";
    static final String ERRORS = "errors.jsonl";

    /** The limits in force; replaced as a whole on a configuration change. */
    record Limits(int maxConcurrentLines, int maxLinesPerBatch, Duration retention) {
    }

    /** A running batch: touched only on the actor thread, except the volatile counts. */
    private static final class Active {
        final String id;
        final String tenant;
        final String endpoint;
        final long expiresAt;
        final Path input;
        final Set<String> done = new HashSet<>();
        final Map<String, EndpointCall> running = new LinkedHashMap<>();
        final PriorityQueue<Retry> retries = new PriorityQueue<>(Comparator.comparingLong(Retry::dueMillis));
        final Map<String, Integer> attempts = new HashMap<>();
        InputLines reader;
        boolean inputDone;
        ResultLog output;
        ResultLog errors;
        /** Why it is ending early (cancelled, expired), or null. */
        String ending;
        boolean countsDirty;
        volatile int completed;
        volatile int failed;
        volatile int inFlight;

        Active(BatchRecord b, Path input) {
            this.id = b.id();
            this.tenant = b.tenant();
            this.endpoint = b.endpoint();
            this.expiresAt = b.expiresAt();
            this.input = input;
        }
    }

    private record Retry(InputLines.Line line, long dueMillis) {
    }

    /** Live figures of a running batch, for the API. */
    record Live(int completed, int failed, int inFlight) {
    }

    private final BatchStore store;
    private final Blobs blobs;
    private final Clock clock;
    private final ScheduledExecutorService actor;
    private final Map<String, Active> active = new LinkedHashMap<>();
    private final Map<String, Active> published = new ConcurrentHashMap<>();
    private volatile Limits limits;
    private volatile OpenAiEndpoints endpoints;
    private volatile boolean closed;
    private int inFlight;
    private ScheduledFuture<?> cleanup;
    private long startedMillis;
    private long cleanupSeconds = -1;

    BatchRunner(BatchStore store, Blobs blobs, Limits limits, Clock clock) {
        this.store = store;
        this.blobs = blobs;
        this.limits = limits;
        this.clock = clock;
        this.actor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "halyard-batch-runner");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Recovers what a previous run left, then runs: every second the counts and logs are saved and
     * lines dispatched. Interrupted uploads are removed before this returns, that is before the
     * mode takes uploads again.
     */
    void start(Duration cleanupInterval) throws IOException, SQLException {
        removeInterruptedUploads();
        startedMillis = clock.millis();
        run(this::recover);
        actor.scheduleWithFixedDelay(() -> guarded(this::tick), 1, 1, TimeUnit.SECONDS);
        scheduleCleanup(cleanupInterval);
    }

    void configure(Limits l, Duration cleanupInterval) {
        this.limits = l;
        scheduleCleanup(cleanupInterval);
        run(this::pump);
    }

    private synchronized void scheduleCleanup(Duration every) {
        long s = Math.max(1, every.toSeconds());
        if (s == cleanupSeconds || closed) {
            return;
        }
        if (cleanup != null) {
            cleanup.cancel(false);
        }
        cleanupSeconds = s;
        cleanup = actor.scheduleWithFixedDelay(() -> guarded(this::cleanUp), s, s, TimeUnit.SECONDS);
    }

    void setEndpoints(OpenAiEndpoints e) {
        this.endpoints = e;
        run(this::pump);
    }

    boolean hasEndpoints() {
        return endpoints != null;
    }

    void unsetEndpoints(OpenAiEndpoints e) {
        if (endpoints == e) {
            endpoints = null;
        }
    }

    /** A batch was created: validate it and run it. */
    void created(String batchId) {
        run(() -> {
            Optional<BatchRecord> b = store.batch(batchId);
            if (b.isPresent() && b.get().status().equals(BatchRecord.VALIDATING)) {
                validate(b.get());
            }
        });
    }

    /** A batch is cancelling (the database says so already): stop its lines and end it. */
    void cancelled(String batchId) {
        run(() -> {
            Active a = active.get(batchId);
            if (a != null && a.ending == null) {
                end(a, BatchRecord.CANCELLED);
            }
            pump();
        });
    }

    /** Live figures of a running batch. */
    Optional<Live> live(String batchId) {
        Active a = published.get(batchId);
        return a == null ? Optional.empty() : Optional.of(new Live(a.completed, a.failed, a.inFlight));
    }

    /** Lines running now, over all batches. */
    int inFlight() {
        int n = 0;
        for (Active a : published.values()) {
            n += a.inFlight;
        }
        return n;
    }

    /** Batches running now. */
    int activeBatches() {
        return published.size();
    }

    /** Runs a task on the actor thread and waits for it (tests, shutdown). */
    void sync() {
        try {
            actor.submit(() -> { }).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("the batch runner did not answer", e);
        }
    }

    /** Runs the retention clean-up now (tests). */
    void cleanUpNow() {
        try {
            actor.submit(() -> guarded(this::cleanUp)).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Stops: lines in flight are cancelled and their answers dropped (they run again on the next
     * start), logs are forced and closed, counts saved.
     */
    @Override
    public void close() {
        try {
            actor.submit(() -> {
                closed = true;
                for (Active a : active.values()) {
                    a.running.values().forEach(EndpointCall::cancel);
                    saveCounts(a);
                    closeLogs(a);
                }
                active.clear();
                published.clear();
            }).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            BatchJobs.LOG.warn("Stopping the batch runner did not finish cleanly", e);
        }
        closed = true;
        actor.shutdownNow();
        try {
            actor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the actor thread ----

    private interface Task {
        void run() throws Exception;
    }

    private void run(Task t) {
        try {
            actor.execute(() -> guarded(t));
        } catch (RejectedExecutionException e) {
            // stopping
        }
    }

    private void guarded(Task t) {
        if (closed) {
            return;
        }
        try {
            t.run();
        } catch (Exception | LinkageError e) {
            BatchJobs.LOG.error("Batch runner task failed; it is retried on the next tick", e);
        }
    }

    private long nowSeconds() {
        return clock.instant().getEpochSecond();
    }

    private void removeInterruptedUploads() throws IOException, SQLException {
        int temps = blobs.removeTemps();
        Set<String> known = new HashSet<>(store.knownFileIds());
        int orphans = 0;
        for (String id : blobs.ids()) {
            if (!known.contains(id)) {
                blobs.delete(id); // written, but its upload never committed
                orphans++;
            }
        }
        if (temps + orphans > 0) {
            BatchJobs.LOG.info("Batch storage: removed {} interrupted upload(s) and {} unlisted file(s)", temps, orphans);
        }
    }

    private void recover() throws Exception {
        Set<String> unfinished = new HashSet<>();
        for (BatchRecord b : store.unfinished()) {
            unfinished.add(b.id());
            if (b.outcome() != null) {
                BatchJobs.LOG.info("Batch {}: finishing its interrupted finalization ({})", b.id(), b.outcome());
                completeFinalize(b);
            } else if (b.status().equals(BatchRecord.VALIDATING)) {
                validate(b);
            } else {
                Active a = activate(b);
                if (a != null) {
                    BatchJobs.LOG.info("Batch {}: resumed with {} of {} lines answered", b.id(), a.done.size(), b.total());
                    if (b.status().equals(BatchRecord.CANCELLING)) {
                        end(a, BatchRecord.CANCELLED);
                    }
                }
            }
        }
        for (String id : blobs.workIds()) {
            if (!unfinished.contains(id)) {
                blobs.deleteWork(id);
            }
        }
        pump();
    }

    private void validate(BatchRecord b) throws Exception {
        long now = nowSeconds();
        if (store.file(b.inputFileId()).isEmpty() || !blobs.exists(b.inputFileId())) {
            store.fail(b.id(), errors(List.of(new InputLines.Problem("input_file_missing", "The input file "
                    + b.inputFileId() + " was deleted before the batch started.", "input_file_id", null)), 0), 0, now);
            return;
        }
        InputLines.Validation v = InputLines.validate(blobs.path(b.inputFileId()), b.endpoint(),
                limits.maxLinesPerBatch());
        if (!v.valid()) {
            BatchJobs.LOG.info("Batch {} failed validation: {} problem(s), the first: {}", b.id(),
                    v.problems().size() + v.moreProblems(), v.problems().get(0).message());
            store.fail(b.id(), errors(v.problems(), v.moreProblems()), v.lines(), now);
            return;
        }
        if (store.startRun(b.id(), v.lines(), now)) {
            activate(store.batch(b.id()).orElseThrow());
            pump();
        }
    }

    /** OpenAI's {@code errors} object. */
    private static String errors(List<InputLines.Problem> problems, int more) throws IOException {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.put("object", "list");
        var data = o.putArray("data");
        for (InputLines.Problem p : problems) {
            ObjectNode e = data.addObject();
            e.put("code", p.code());
            e.put("message", p.message());
            e.put("param", p.param());
            if (p.line() == null) {
                e.putNull("line");
            } else {
                e.put("line", p.line());
            }
        }
        if (more > 0) {
            ObjectNode e = data.addObject();
            e.put("code", "too_many_errors");
            e.put("message", more + " more problem(s) not listed; fix the ones above and validate again.");
            e.putNull("param");
            e.putNull("line");
        }
        return Jsonl.MAPPER.writeValueAsString(o);
    }

    /** Opens the logs of a running batch (repairing them) and takes it up. */
    private Active activate(BatchRecord b) throws IOException, SQLException {
        if (!blobs.exists(b.inputFileId())) {
            BatchJobs.LOG.error("Batch {}: its input file {} is gone; it ends as cancelled", b.id(), b.inputFileId());
        }
        Active a = new Active(b, blobs.path(b.inputFileId()));
        Path work = blobs.work(b.id());
        a.output = ResultLog.open(work.resolve(OUTPUT), a.done::add);
        a.errors = ResultLog.open(work.resolve(ERRORS), a.done::add);
        a.completed = a.output.records();
        a.failed = a.errors.records();
        if (a.completed != b.completed() || a.failed != b.failed()) {
            store.counts(b.id(), a.completed, a.failed);
        }
        active.put(a.id, a);
        published.put(a.id, a);
        if (!Files.exists(a.input)) {
            end(a, BatchRecord.CANCELLED);
        }
        return a;
    }

    private void tick() throws Exception {
        for (Active a : new ArrayList<>(active.values())) {
            saveCounts(a);
            try {
                a.output.force();
                a.errors.force();
            } catch (IOException e) {
                BatchJobs.LOG.warn("Batch {}: forcing its logs to disk failed", a.id, e);
            }
        }
        pump();
    }

    private void saveCounts(Active a) {
        if (!a.countsDirty) {
            return;
        }
        try {
            store.counts(a.id, a.completed, a.failed);
            a.countsDirty = false;
        } catch (SQLException e) {
            BatchJobs.LOG.warn("Batch {}: saving its counts failed", a.id, e);
        }
    }

    /** Dispatches lines while there is room, earliest window first; ends batches that are done. */
    private void pump() throws Exception {
        if (closed) {
            return;
        }
        List<Active> order = new ArrayList<>(active.values());
        order.sort(Comparator.comparingLong((Active a) -> a.expiresAt).thenComparing(a -> a.id));
        long now = nowSeconds();
        for (Active a : order) {
            if (a.ending == null && now >= a.expiresAt) {
                BatchJobs.LOG.info("Batch {}: its completion window ended with {} lines answered; it expires", a.id,
                        a.done.size());
                end(a, BatchRecord.EXPIRED);
            }
            if (a.ending != null) {
                if (a.running.isEmpty()) {
                    finalizeBatch(a, a.ending);
                }
                continue;
            }
            OpenAiEndpoints ep = endpoints;
            while (ep != null && inFlight < limits.maxConcurrentLines()) {
                InputLines.Line l = nextLine(a);
                if (l == null) {
                    break;
                }
                dispatch(a, l, ep);
            }
            if (a.inputDone && a.retries.isEmpty() && a.running.isEmpty()) {
                finalizeBatch(a, BatchRecord.COMPLETED);
            }
        }
    }

    private InputLines.Line nextLine(Active a) throws IOException {
        Retry r = a.retries.peek();
        if (r != null && r.dueMillis() <= clock.millis()) {
            a.retries.poll();
            return r.line();
        }
        if (a.inputDone) {
            return null;
        }
        if (a.reader == null) {
            a.reader = InputLines.open(a.input);
        }
        InputLines.Line l;
        while ((l = a.reader.next()) != null) {
            if (!a.done.contains(l.customId()) && !a.running.containsKey(l.customId())) {
                return l;
            }
        }
        a.reader.close();
        a.reader = null;
        a.inputDone = true;
        return null;
    }

    private void dispatch(Active a, InputLines.Line l, OpenAiEndpoints ep) {
        Caller caller = new Caller(a.tenant, Set.of(Caller.USER), MODE, Quota.UNLIMITED);
        EndpointCall call;
        try {
            call = ep.call(a.endpoint, l.body(), caller, new CallOptions(MODE, Instant.ofEpochSecond(a.expiresAt),
                    Map.of("batch_id", a.id)));
        } catch (RuntimeException e) {
            BatchJobs.LOG.warn("Batch {}: starting line {} failed", a.id, l.number(), e);
            a.retries.add(new Retry(l, clock.millis() + 5000));
            return;
        }
        a.running.put(l.customId(), call);
        a.inFlight = a.running.size();
        inFlight++;
        call.response().whenComplete((r, e) -> run(() -> answered(a, l, call, r, e)));
    }

    private void answered(Active a, InputLines.Line l, EndpointCall call, EndpointResponse r, Throwable e)
            throws Exception {
        if (a.running.get(l.customId()) != call) {
            return;
        }
        a.running.remove(l.customId());
        a.inFlight = a.running.size();
        inFlight--;
        if (active.get(a.id) != a) {
            return; // no longer ours to answer
        }
        if (a.ending == null && nowSeconds() >= a.expiresAt) {
            end(a, BatchRecord.EXPIRED); // the scheduler ended this line at the window's end
        }
        if (e != null || r == null) {
            r = new EndpointResponse(500, "{\"error\":{\"message\":\"Internal error\",\"type\":\"server_error\","
                    + "\"param\":null,\"code\":null}}", null, null);
        }
        if (a.ending != null && !r.ok()) {
            unanswered(a, l, a.ending);
        } else if (r.ok()) {
            write(a, l, a.output, record(l, r));
        } else if (retry(a, l, r)) {
            // runs again later
        } else {
            write(a, l, a.errors, record(l, r));
        }
        pump();
    }

    /**
     * Whether a line that was not answered with success runs again: refused at admission (429,
     * 503 overloaded or unavailable: nothing ran) always, until the window ends, and so is a
     * model not (yet) served within {@link #MODEL_WAIT} of the start; failed on the
     * server (other 5xx, a deadline before the window's end) up to {@link #MAX_ATTEMPTS} tries.
     * Client errors (4xx) are the line's answer.
     */
    private boolean retry(Active a, InputLines.Line l, EndpointResponse r) {
        boolean refused = r.status() == 429
                || (r.status() == 503 && ("overloaded".equals(r.code()) || "unavailable".equals(r.code())))
                || (r.status() == 404 && "model_not_found".equals(r.code())
                        && clock.millis() - startedMillis < MODEL_WAIT.toMillis());
        if (!refused) {
            if (r.status() < 500) {
                return false;
            }
            int n = a.attempts.merge(l.customId(), 1, Integer::sum);
            if (n >= MAX_ATTEMPTS) {
                return false;
            }
        }
        long wait = r.retry().map(Duration::toMillis).orElse(1000L);
        a.retries.add(new Retry(l, clock.millis() + Math.max(200, Math.min(30_000, wait))));
        return true;
    }

    private static String record(InputLines.Line l, EndpointResponse r) {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.put("id", Ids.request());
        o.put("custom_id", l.customId());
        ObjectNode resp = o.putObject("response");
        resp.put("status_code", r.status());
        resp.put("request_id", requestId(r));
        resp.putRawValue("body", new RawValue(r.body()));
        o.putNull("error");
        return o.toString();
    }

    private static String requestId(EndpointResponse r) {
        if (r.ok()) {
            try {
                var id = Jsonl.MAPPER.readTree(r.body()).get("id");
                if (id != null && id.isTextual()) {
                    return id.textValue();
                }
            } catch (IOException ignored) {
                // fall through
            }
        }
        return "req_" + Ids.request().substring("batch_req_".length());
    }

    /** A line that will not run: answered in the error file with why. */
    private void unanswered(Active a, InputLines.Line l, String why) throws IOException {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.put("id", Ids.request());
        o.put("custom_id", l.customId());
        o.putNull("response");
        ObjectNode err = o.putObject("error");
        if (BatchRecord.EXPIRED.equals(why)) {
            err.put("code", "batch_expired");
            err.put("message", "This request could not be executed before the completion window expired.");
        } else {
            err.put("code", "batch_cancelled");
            err.put("message", "This request was not executed because the batch was cancelled.");
        }
        write(a, l, a.errors, o.toString());
    }

    private void write(Active a, InputLines.Line l, ResultLog log, String record) throws IOException {
        if (!a.done.add(l.customId())) {
            return; // never twice
        }
        try {
            log.append(record);
        } catch (IOException e) {
            a.done.remove(l.customId());
            BatchJobs.LOG.error("Batch {}: writing the answer of line {} failed; it runs again", a.id, l.number(), e);
            a.retries.add(new Retry(l, clock.millis() + 5000));
            return;
        }
        if (log == a.output) {
            a.completed++;
        } else {
            a.failed++;
        }
        a.countsDirty = true;
    }

    /** Starts ending a batch early: its running lines are cancelled, the rest will be answered with why. */
    private void end(Active a, String outcome) {
        a.ending = outcome;
        a.retries.clear();
        a.running.values().forEach(EndpointCall::cancel);
    }

    /** Every line is answered (or, ending early, answered with why): the logs become files. */
    private void finalizeBatch(Active a, String outcome) throws Exception {
        if (!outcome.equals(BatchRecord.COMPLETED)) {
            if (a.reader != null) {
                a.reader.close();
                a.reader = null;
            }
            if (Files.exists(a.input)) {
                try (InputLines in = InputLines.open(a.input)) {
                    InputLines.Line l;
                    while ((l = in.next()) != null) {
                        if (!a.done.contains(l.customId())) {
                            unanswered(a, l, outcome);
                        }
                    }
                }
            }
        }
        closeLogs(a);
        BatchRecord b = store.beginFinalize(a.id, outcome, Ids.file(), Ids.file(), nowSeconds());
        active.remove(a.id);
        completeFinalize(b);
        published.remove(a.id);
    }

    private static void closeLogs(Active a) {
        for (ResultLog log : new ResultLog[] {a.output, a.errors}) {
            try {
                if (log != null) {
                    log.close();
                }
            } catch (IOException e) {
                BatchJobs.LOG.warn("Batch {}: closing {} failed", a.id, log.path(), e);
            }
        }
        try {
            if (a.reader != null) {
                a.reader.close();
                a.reader = null;
            }
        } catch (IOException ignored) {
            // read-only
        }
    }

    /**
     * The second half of ending, redone after a crash: moves the logs in as the reserved files
     * (an empty log gives no file) and records the final status, counts and files in one
     * transaction.
     */
    private void completeFinalize(BatchRecord b) throws Exception {
        Path work = blobs.work(b.id());
        long now = nowSeconds();
        FileRecord out = moveIn(work.resolve(OUTPUT), b.outputFileId(), b, "output", now);
        FileRecord err = moveIn(work.resolve(ERRORS), b.errorFileId(), b, "errors", now);
        int completed = out == null ? 0 : Blobs.countLines(blobs.path(out.id()));
        int failed = err == null ? 0 : Blobs.countLines(blobs.path(err.id()));
        store.finish(b, now, completed, failed, out, err);
        blobs.deleteWork(b.id());
        BatchJobs.LOG.info("Batch {} {}: {} line(s) answered, {} with an error", b.id(), b.outcome(), completed, failed);
    }

    private FileRecord moveIn(Path part, String id, BatchRecord b, String kind, long now) throws IOException {
        if (Files.exists(part)) {
            // a log repaired on open holds only complete records; repair once more in case the crash
            // came between its last append and this move
            try (ResultLog log = ResultLog.open(part, x -> { })) {
                if (log.records() == 0) {
                    Files.delete(part);
                    return null;
                }
            }
            blobs.moveIn(part, id);
        } else if (!blobs.exists(id)) {
            return null;
        }
        return new FileRecord(id, b.tenant(), FileRecord.PURPOSE_OUTPUT, b.id() + "_" + kind + ".jsonl",
                Files.size(blobs.path(id)), now);
    }

    /** Retention: ended batches and their files, and files, older than {@code retention} go. */
    private void cleanUp() throws Exception {
        long before = nowSeconds() - limits.retention().toSeconds();
        int batches = 0;
        int files = 0;
        for (BatchRecord b : store.endedBefore(before)) {
            for (String f : new String[] {b.outputFileId(), b.errorFileId()}) {
                if (f != null) {
                    store.deleteFile(f);
                    blobs.delete(f);
                    files++;
                }
            }
            store.deleteBatch(b.id());
            batches++;
        }
        for (FileRecord f : store.filesCreatedBefore(before)) {
            store.deleteFile(f.id());
            blobs.delete(f.id());
            files++;
        }
        if (batches + files > 0) {
            BatchJobs.LOG.info("Batch retention: deleted {} batch(es) and {} file(s) older than {}", batches, files,
                    limits.retention());
        }
    }
}
