package org.halyard.exporter.jsonlog.impl;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.telemetry.api.RequestListener;
import org.halyard.telemetry.api.RequestRecord;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one JSON line per finished request to a rolling file or standard output, for Loki,
 * Elasticsearch or an OpenTelemetry collector to pick up. Every line passes the
 * {@link PrivacyFilter}: allow-listed fields only, identifiers hashed, prompt and output text off
 * unless switched on and then redacted.
 *
 * <p>Called by the telemetry bundle on a thread of this listener's own, so a slow disk delays
 * nobody but this exporter (its queue drops and counts records when it falls far behind).
 */
@Component(configurationPid = JsonLogExporter.PID, service = {RequestListener.class, HealthContributor.class},
        property = {RequestListener.NAME + "=jsonlog", HealthContributor.COMPONENT + "=exporter/jsonlog"})
@Designate(ocd = JsonLogExporter.Config.class)
public class JsonLogExporter implements RequestListener, HealthContributor {

    /** The configuration PID. */
    public static final String PID = "org.halyard.exporter.jsonlog";

    private static final Logger LOG = LoggerFactory.getLogger(JsonLogExporter.class);

    /** The JSON log's configuration. */
    @ObjectClassDefinition(name = "Halyard JSON request log",
            description = "One JSON line per request, filtered for privacy, to a rolling file or stdout")
    public @interface Config {

        @AttributeDefinition(description = "Where lines go", options = {
                @Option(value = "file", label = "a rolling file"), @Option(value = "stdout", label = "standard output")})
        String target() default "file";

        @AttributeDefinition(description = "The log file; a relative path is under the Karaf data directory")
        String path() default "log/halyard-requests.jsonl";

        @AttributeDefinition(description = "Size at which the file rolls over (bytes)")
        long maxFileSizeBytes() default 50L * 1024 * 1024;

        @AttributeDefinition(description = "Rolled files kept (file.1 ... file.N)")
        int maxFiles() default 5;

        @AttributeDefinition(description = "Fields written (the allow-list): ts, start, request_id, tenant, mode, "
                + "model, endpoint, outcome, finish_reason, http_status, prompt_tokens, cached_tokens, output_tokens, "
                + "queue_ms, ttft_ms, tpot_ms, total_ms, verdicts, attributes")
        String[] fields() default {"ts", "start", "request_id", "tenant", "mode", "model", "endpoint", "outcome",
            "finish_reason", "http_status", "prompt_tokens", "cached_tokens", "output_tokens", "queue_ms", "ttft_ms",
            "tpot_ms", "total_ms", "verdicts", "attributes"};

        @AttributeDefinition(description = "Fields whose values are replaced by keyed hashes")
        String[] hashedFields() default {"tenant"};

        @AttributeDefinition(description = "Key of the identifier hashes (HMAC-SHA-256), at least 16 characters; "
                + "empty: a random key per start, so hashes change on restart")
        String hashKey() default "";

        @AttributeDefinition(description = "Request attributes (client labels, batch id) that may be written")
        String[] attributes() default {};

        @AttributeDefinition(description = "Write the prompt and output text, redacted (emails, phone numbers, card "
                + "numbers, IBANs, IP addresses, API keys and secrets)")
        boolean includeText() default false;

        @AttributeDefinition(description = "Longest prompt or output text written (characters)")
        int maxTextChars() default 4096;
    }

    private final Object lock = new Object();
    private final AtomicLong lines = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private KeyedHasher randomHasher;
    private PrivacyFilter filter;
    private Sink sink;
    private String sinkKey;
    private volatile String lastError;

    @Activate
    public JsonLogExporter(Config config) throws IOException {
        configure(config);
    }

    @Modified
    void configure(Config config) throws IOException {
        List<String> unknown = new ArrayList<>();
        List<PrivacyFilter.Field> fields = PrivacyFilter.parse(list(config.fields()), unknown);
        List<PrivacyFilter.Field> hashed = PrivacyFilter.parse(list(config.hashedFields()), unknown);
        if (!unknown.isEmpty()) {
            LOG.warn("JSON request log: ignoring unknown field names {} (nothing unknown is ever written)", unknown);
        }
        KeyedHasher hasher;
        String key = config.hashKey() == null ? "" : config.hashKey();
        if (key.length() >= 16) {
            hasher = KeyedHasher.of(key);
        } else {
            if (!key.isEmpty()) {
                LOG.warn("JSON request log: hashKey is shorter than 16 characters; using a random key instead");
            }
            synchronized (lock) {
                if (randomHasher == null) {
                    randomHasher = KeyedHasher.random();
                    if (!hashed.isEmpty()) {
                        LOG.info("JSON request log: no hashKey configured; identifier hashes are stable until "
                                + "the next restart only");
                    }
                }
                hasher = randomHasher;
            }
        }
        PrivacyFilter next = new PrivacyFilter(fields, hashed, list(config.attributes()),
                config.includeText(), config.maxTextChars(), hasher);
        String wantedSink = "stdout".equalsIgnoreCase(config.target()) ? "stdout"
                : "file:" + resolve(config.path()) + ":" + config.maxFileSizeBytes() + ":" + config.maxFiles();
        synchronized (lock) {
            if (!wantedSink.equals(sinkKey)) {
                Sink opened = "stdout".equals(wantedSink) ? new Sink.Stdout()
                        : new Sink.RollingFile(resolve(config.path()), config.maxFileSizeBytes(), config.maxFiles());
                closeQuietly(sink);
                sink = opened;
                sinkKey = wantedSink;
            }
            filter = next;
        }
        if (config.includeText()) {
            LOG.warn("JSON request log: prompt and output text are written (redacted) to {}", sink.describe());
        }
    }

    /**
     * The values of a list property: Karaf's {@code .cfg} files give a list as one
     * comma-separated string, ConfigAdmin and the shell as an array; both work.
     */
    static List<String> list(String[] values) {
        List<String> out = new ArrayList<>();
        if (values != null) {
            for (String v : values) {
                for (String part : v.split(",")) {
                    if (!part.isBlank()) {
                        out.add(part.trim());
                    }
                }
            }
        }
        return out;
    }

    static Path resolve(String path) {
        Path p = Path.of(path);
        if (p.isAbsolute()) {
            return p;
        }
        String data = System.getProperty("karaf.data");
        return data == null ? p.toAbsolutePath() : Path.of(data).resolve(p);
    }

    @Deactivate
    void deactivate() {
        synchronized (lock) {
            closeQuietly(sink);
            sink = null;
            sinkKey = null;
        }
    }

    @Override
    public void onRequest(RequestRecord record) {
        synchronized (lock) {
            if (sink == null) {
                return;
            }
            try {
                sink.write(filter.line(record));
                lines.incrementAndGet();
                lastError = null;
            } catch (IOException | RuntimeException e) {
                // the line is lost, nothing else: failing closed means nothing half-filtered leaves
                failures.incrementAndGet();
                lastError = e.toString();
                if (failures.get() == 1) {
                    LOG.warn("JSON request log: cannot write to {}", sink.describe(), e);
                }
            }
        }
    }

    @Override
    public List<Health> health() {
        String where;
        boolean text;
        synchronized (lock) {
            where = sink == null ? "nowhere" : sink.describe();
            text = filter != null && filter.textEnabled();
        }
        Map<String, String> attrs = Map.of("target", where, "lines", Long.toString(lines.get()),
                "failures", Long.toString(failures.get()), "text", Boolean.toString(text));
        String error = lastError;
        if (error != null) {
            return List.of(new Health("exporter/jsonlog", Health.Status.DEGRADED, true,
                    "cannot write request log to " + where + ": " + error, attrs));
        }
        return List.of(Health.up("exporter/jsonlog", lines.get() + " request line(s) written to " + where
                + (text ? " (with redacted text)" : "")).with(attrs));
    }

    private static void closeQuietly(Sink s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                LOG.debug("Closing {} failed", s.describe(), e);
            }
        }
    }
}
