package org.halyard.mode.batch;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.rest.api.ApiException;
import org.halyard.rest.api.Caller;
import org.halyard.rest.api.OpenAiEndpoints;
import org.halyard.serving.api.batch.BatchInfo;
import org.halyard.serving.api.batch.BatchService;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The batch jobs of the batch mode: offline work (evaluations, data generation, nightly jobs)
 * that runs in the scheduler's lowest class, in the capacity interactive traffic leaves, and is
 * never lost. Behind the OpenAI Files and Batch APIs ({@link FilesResource},
 * {@link BatchesResource}): files and batches live in an embedded H2 database and files under
 * the data directory ({@link BatchStore}, {@link Blobs}); {@link BatchRunner} runs the lines
 * through the OpenAI endpoints in the {@code batch} serving mode ({@link BatchMode}) and
 * survives crashes.
 *
 * <p>A component apart from {@link BatchMode} because the REST API's endpoint service, which
 * this one uses, itself uses every serving mode: one component for both would be a service
 * cycle.
 */
@Component(configurationPid = BatchMode.PID, service = {HealthContributor.class, BatchService.class, BatchJobs.class},
        property = HealthContributor.COMPONENT + "=batch/jobs")
public class BatchJobs implements HealthContributor, BatchService {

    static final Logger LOG = LoggerFactory.getLogger(BatchJobs.class);

    private final Path dataDirectory;
    private final BatchStore store;
    private final Blobs blobs;
    private final BatchRunner runner;
    private final Clock clock;
    private volatile BatchConfig config;
    @Activate
    public BatchJobs(BatchConfig config) throws IOException, SQLException {
        this(config, Clock.systemUTC());
    }

    BatchJobs(BatchConfig config, Clock clock) throws IOException, SQLException {
        check(config);
        this.config = config;
        this.clock = clock;
        this.dataDirectory = dataDirectory(config);
        Files.createDirectories(dataDirectory.resolve("db"));
        this.store = BatchStore.open(dataDirectory.resolve("db"));
        try {
            this.blobs = new Blobs(dataDirectory);
            this.runner = new BatchRunner(store, blobs, limits(config), clock);
            runner.start(Duration.ofSeconds(config.cleanupInterval_seconds()));
        } catch (IOException | SQLException | RuntimeException e) {
            store.close();
            throw e;
        }
        LOG.info("Batch mode: data in {}", dataDirectory);
    }

    @Modified
    void modified(BatchConfig c) {
        check(c);
        if (!dataDirectory(c).equals(dataDirectory)) {
            LOG.warn("{}: dataDirectory changes when the batch mode restarts (bundle:restart org.halyard.mode-batch); "
                    + "it stays {} until then", BatchMode.PID, dataDirectory);
        }
        this.config = c;
        runner.configure(limits(c), Duration.ofSeconds(c.cleanupInterval_seconds()));
    }

    @Deactivate
    void deactivate() {
        runner.close();
        store.close();
    }

    private static void check(BatchConfig c) {
        if (c.maxConcurrentLines() < 1 || c.maxLinesPerBatch() < 1 || c.maxFileSizeBytes() < 1 || c.retention_hours() < 0
                || c.cleanupInterval_seconds() < 1 || c.maxCompletionWindow_hours() < 1 || c.maxPromptTokens() < 1
                || c.maxOutputTokens() < 1 || c.maxQueuedRequests() < 0) {
            throw new IllegalArgumentException(BatchMode.PID + ": limits must be positive (retention.hours and "
                    + "maxQueuedRequests may be 0)");
        }
    }

    private static BatchRunner.Limits limits(BatchConfig c) {
        return new BatchRunner.Limits(c.maxConcurrentLines(), c.maxLinesPerBatch(),
                Duration.ofHours(c.retention_hours()));
    }

    /** The configured folder, else {@code ${halyard.data}/batch}, else {@code ${karaf.data}/halyard/batch}. */
    static Path dataDirectory(BatchConfig c) {
        String dir = c.dataDirectory() == null ? "" : c.dataDirectory().trim();
        if (!dir.isEmpty()) {
            return Path.of(dir).toAbsolutePath();
        }
        String halyard = System.getProperty("halyard.data");
        if (halyard != null && !halyard.isBlank()) {
            return Path.of(halyard, "batch").toAbsolutePath();
        }
        String karaf = System.getProperty("karaf.data");
        if (karaf != null && !karaf.isBlank()) {
            return Path.of(karaf, "halyard", "batch").toAbsolutePath();
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "halyard-batch").toAbsolutePath();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindEndpoints(OpenAiEndpoints e) {
        runner.setEndpoints(e);
    }

    void unbindEndpoints(OpenAiEndpoints e) {
        runner.unsetEndpoints(e);
    }

    Path dataDirectory() {
        return dataDirectory;
    }

    BatchRunner runner() {
        return runner;
    }

    BatchConfig config() {
        return config;
    }

    long now() {
        return clock.instant().getEpochSecond();
    }

    @Override
    public List<Health> health() {
        Map<String, String> attrs = Map.of("activeBatches", Integer.toString(runner.activeBatches()),
                "linesInFlight", Integer.toString(runner.inFlight()),
                "maxConcurrentLines", Integer.toString(config.maxConcurrentLines()),
                "dataDirectory", dataDirectory.toString());
        if (!runner.hasEndpoints()) {
            return List.of(new Health("batch/jobs", Health.Status.DEGRADED, true, "waiting for the REST API's "
                    + "endpoints (feature halyard-rest); batches wait", attrs));
        }
        return List.of(new Health("batch/jobs", Health.Status.UP, true, runner.activeBatches() + " batch(es) running, "
                + runner.inFlight() + " line(s) in flight", attrs));
    }

    // ---- files ----

    /**
     * Stores an upload atomically and lists it; nothing is kept when it fails.
     *
     * @throws ApiException 413 when larger than {@code maxFileSizeBytes}
     */
    FileRecord upload(String tenant, String filename, InputStream content) throws IOException, SQLException {
        String id = Ids.file();
        long max = config.maxFileSizeBytes();
        long size;
        try {
            size = blobs.write(id, content, max);
        } catch (Blobs.TooLargeException e) {
            throw new ApiException(413, "The file is larger than " + max + " bytes, the limit of this server "
                    + "(maxFileSizeBytes in etc/org.halyard.mode.batch.cfg); split it.", "file", "file_too_large");
        }
        FileRecord f = new FileRecord(id, tenant, FileRecord.PURPOSE_BATCH, filename, size, now());
        try {
            store.insertFile(f);
        } catch (SQLException | RuntimeException e) {
            blobs.delete(id);
            throw e;
        }
        return f;
    }

    /** A file the caller may see, or 404. */
    FileRecord file(Caller caller, String id) throws SQLException {
        Optional<FileRecord> f = store.file(id);
        if (f.isEmpty() || !visible(caller, f.get().tenant())) {
            throw new ApiException(404, "No such file: '" + id + "'.", "file_id", "file_not_found");
        }
        return f.get();
    }

    List<FileRecord> files(Caller caller, String purpose, String after, int limit, boolean ascending) throws SQLException {
        return store.files(caller.has(Caller.ADMIN) ? null : caller.tenant(), purpose, after, limit, ascending);
    }

    Path content(FileRecord f) {
        return blobs.path(f.id());
    }

    /** Deletes a file; 409 while an unfinished batch reads it. */
    void deleteFile(Caller caller, String id) throws SQLException, IOException {
        FileRecord f = file(caller, id);
        List<String> users = store.unfinishedReading(f.id());
        if (!users.isEmpty()) {
            throw new ApiException(409, "The file '" + id + "' is the input of batch " + users.get(0) + ", which has not "
                    + "ended; cancel it or wait for it to end.", "file_id", "file_in_use");
        }
        store.deleteFile(f.id());
        blobs.delete(f.id());
    }

    Instant expiresAt(FileRecord f) {
        return Instant.ofEpochSecond(f.createdAt()).plus(Duration.ofHours(config.retention_hours()));
    }

    // ---- batches ----

    private static final Pattern WINDOW = Pattern.compile("(\\d{1,6})([smhd])");

    /** The length of a completion window such as {@code 24h}; 400 when malformed or too long. */
    Duration window(String w) {
        Matcher m = WINDOW.matcher(w == null ? "" : w.trim());
        if (!m.matches()) {
            throw ApiException.invalid("completion_window", "completion_window must be a duration such as \"24h\" "
                    + "(a number and s, m, h or d).");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        Duration max = Duration.ofHours(config.maxCompletionWindow_hours());
        if (d.isZero() || d.compareTo(max) > 0) {
            throw ApiException.invalid("completion_window", "completion_window must be between 1s and "
                    + config.maxCompletionWindow_hours() + "h on this server; it is " + w + ".");
        }
        return d;
    }

    /** Creates a batch (validating); the runner validates and runs it. */
    BatchRecord create(Caller caller, String inputFileId, String endpoint, String completionWindow, JsonNode metadata)
            throws SQLException {
        Duration window = window(completionWindow);
        FileRecord input = file(caller, inputFileId);
        if (!input.purpose().equals(FileRecord.PURPOSE_BATCH)) {
            throw ApiException.invalid("input_file_id", "The file '" + inputFileId + "' has purpose '" + input.purpose()
                    + "'; a batch reads a file uploaded with purpose 'batch'.");
        }
        long now = now();
        BatchRecord b = new BatchRecord(Ids.batch(), caller.tenant(), endpoint, input.id(), completionWindow.trim(),
                BatchRecord.VALIDATING, null, now, null, now + window.toSeconds(), null, null, null, null, null, null, 0,
                0, 0, null, null, null, metadata == null || metadata.isNull() ? null : metadata.toString());
        store.insertBatch(b);
        runner.created(b.id());
        return b;
    }

    /** A batch the caller may see, with live counts while it runs; 404 otherwise. */
    BatchRecord batch(Caller caller, String id) throws SQLException {
        Optional<BatchRecord> b = store.batch(id);
        if (b.isEmpty() || (caller != null && !visible(caller, b.get().tenant()))) {
            throw new ApiException(404, "No such batch: '" + id + "'.", "batch_id", "batch_not_found");
        }
        return withLive(b.get());
    }

    private BatchRecord withLive(BatchRecord b) {
        if (b.ended()) {
            return b;
        }
        return runner.live(b.id()).map(l -> new BatchRecord(b.id(), b.tenant(), b.endpoint(), b.inputFileId(),
                b.completionWindow(), b.status(), b.outcome(), b.createdAt(), b.inProgressAt(), b.expiresAt(),
                b.finalizingAt(), b.completedAt(), b.failedAt(), b.expiredAt(), b.cancellingAt(), b.cancelledAt(),
                b.total(), l.completed(), l.failed(), null, null, b.errors(), b.metadata())).orElse(
                        new BatchRecord(b.id(), b.tenant(), b.endpoint(), b.inputFileId(), b.completionWindow(),
                                b.status(), b.outcome(), b.createdAt(), b.inProgressAt(), b.expiresAt(), b.finalizingAt(),
                                b.completedAt(), b.failedAt(), b.expiredAt(), b.cancellingAt(), b.cancelledAt(), b.total(),
                                b.completed(), b.failed(), null, null, b.errors(), b.metadata()));
    }

    List<BatchRecord> batches(Caller caller, String after, int limit) throws SQLException {
        List<BatchRecord> out = new ArrayList<>();
        for (BatchRecord b : store.batches(caller == null || caller.has(Caller.ADMIN) ? null : caller.tenant(), after,
                limit)) {
            out.add(withLive(b));
        }
        return out;
    }

    /** Cancels a batch; 409 when it has ended. */
    BatchRecord cancel(Caller caller, String id) throws SQLException {
        BatchRecord b = batch(caller, id);
        Optional<String> status = store.requestCancel(b.id(), now());
        if (status.isEmpty()) {
            throw new ApiException(409, "The batch '" + id + "' has already ended (" + b.status() + "); only a "
                    + "batch that is validating or in progress can be cancelled.", "batch_id", "batch_ended");
        }
        if (status.get().equals(BatchRecord.CANCELLING)) {
            runner.cancelled(b.id());
        }
        return batch(caller, id);
    }

    private static boolean visible(Caller caller, String tenant) {
        return caller.has(Caller.ADMIN) || caller.tenant().equals(tenant);
    }

    // ---- BatchService (the shell) ----

    @Override
    public List<BatchInfo> list(int limit) {
        try {
            return batches(null, null, Math.max(1, limit)).stream().map(this::info).toList();
        } catch (SQLException e) {
            throw new IllegalStateException("reading the batch database failed: " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<BatchInfo> get(String batchId) {
        try {
            return Optional.of(info(batch(null, batchId)));
        } catch (ApiException e) {
            return Optional.empty();
        } catch (SQLException e) {
            throw new IllegalStateException("reading the batch database failed: " + e.getMessage(), e);
        }
    }

    @Override
    public BatchInfo cancel(String batchId) {
        try {
            BatchRecord b = store.batch(batchId).orElseThrow(() -> new NoSuchElementException("no batch " + batchId));
            Optional<String> status = store.requestCancel(b.id(), now());
            if (status.isEmpty()) {
                throw new IllegalStateException("batch " + batchId + " has already ended (" + b.status() + ")");
            }
            if (status.get().equals(BatchRecord.CANCELLING)) {
                runner.cancelled(b.id());
            }
            return info(batch(null, batchId));
        } catch (SQLException e) {
            throw new IllegalStateException("reading the batch database failed: " + e.getMessage(), e);
        }
    }

    private BatchInfo info(BatchRecord b) {
        List<String> errors = new ArrayList<>();
        if (b.errors() != null) {
            try {
                for (JsonNode e : Jsonl.MAPPER.readTree(b.errors()).path("data")) {
                    errors.add((e.path("line").isNumber() ? "line " + e.get("line").asInt() + ": " : "")
                            + e.path("message").asText());
                }
            } catch (IOException ignored) {
                errors.add(b.errors());
            }
        }
        int running = runner.live(b.id()).map(BatchRunner.Live::inFlight).orElse(0);
        Long ended = b.endedAt();
        return new BatchInfo(b.id(), b.tenant(), b.endpoint(), b.status(), b.inputFileId(),
                b.ended() ? b.outputFileId() : null, b.ended() ? b.errorFileId() : null, b.total(), b.completed(),
                b.failed(), running, Instant.ofEpochSecond(b.createdAt()), Instant.ofEpochSecond(b.expiresAt()),
                ended == null ? null : Instant.ofEpochSecond(ended), errors);
    }
}
