package org.halyard.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.inject.Inject;
import org.apache.karaf.features.FeaturesService;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.Telemetry;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.Bundle;

/**
 * Telemetry in the distribution: /metrics in the Prometheus format, the JSON request log, health,
 * halyard:metrics; and each exporter installed, reconfigured, updated and removed while the rest
 * keeps serving.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class TelemetryIT extends HalyardTestSupport {

    static final String MODEL = "halyard-shakespeare-moe";

    @Inject
    @Filter(timeout = 60_000)
    private Telemetry telemetry;

    @Inject
    private FeaturesService features;

    @Configuration
    public Option[] config() {
        return distribution();
    }

    private void record(String id, String prompt) {
        telemetry.record(new RequestRecord(id, "tenant-it", "interactive", MODEL, "/v1/chat/completions", Outcome.OK,
                "stop", 200, 7, 0, 3, Instant.now(), Duration.ofMillis(2), Duration.ofMillis(25), Duration.ofMillis(60),
                List.of(), prompt, "an answer", Map.of()));
    }

    private static Path requestLog() {
        return Path.of(System.getProperty("karaf.data"), "log", "halyard-requests.jsonl");
    }

    /** Waits until the JSON log has a line containing {@code text}, and returns that line. */
    private static String awaitLogLine(String text) throws Exception {
        return await("a request-log line with " + text, () -> {
            if (!Files.exists(requestLog())) {
                return null;
            }
            return Files.readAllLines(requestLog(), StandardCharsets.UTF_8).stream().filter(l -> l.contains(text))
                    .findFirst().orElse(null);
        });
    }

    private static <T> T await(String what, Callable<T> probe) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < end) {
            T v = probe.call();
            if (v != null && !Boolean.FALSE.equals(v)) {
                return v;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("timed out waiting for " + what);
    }

    private static void assertStillServing() throws Exception {
        assertEquals(200, get("/v1/models").statusCode());
        assertTrue(get("/health").body().contains("\"components\""));
    }

    /**
     * Makes the demo model a known label value through telemetry's configuration (applied live):
     * until an engine serves it, no Model service announces it, and unknown names count as "other".
     */
    private void knowTheDemoModel() throws Exception {
        shell("config:property-set -p org.halyard.telemetry models " + MODEL);
        await("telemetry to know " + MODEL, () -> {
            record("it-probe", null);
            HttpResponse<String> r = get("/metrics?name[]=halyard_server_requests_total");
            return r.statusCode() == 200 && r.body().contains("model=\"" + MODEL + "\"");
        });
    }

    @Test
    public void metricsLogHealthAndShellShowRecordedRequests() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        awaitStatus("/v1/models", 200, Duration.ofSeconds(90));
        awaitStatus("/metrics", 200, Duration.ofSeconds(60));
        knowTheDemoModel();
        record("it-metrics-1", null);

        HttpResponse<String> metrics = get("/metrics");
        assertEquals(200, metrics.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", metrics.headers().firstValue("Content-Type").orElse(""));
        String body = metrics.body();
        assertTrue(body, body.contains("halyard_server_requests_total{mode=\"interactive\",model=\"" + MODEL + "\",outcome=\"ok\"}"));
        assertTrue(body, body.contains("gen_ai_server_time_to_first_token_seconds_bucket{mode=\"interactive\",model=\"" + MODEL + "\",le=\"0.04\"}"));
        assertTrue(body, body.contains("# TYPE halyard_memory_heap_used_bytes gauge"));
        assertFalse("no tenant or request id in labels", body.contains("tenant-it") || body.contains("it-metrics-1"));

        String line = awaitLogLine("it-metrics-1");
        assertFalse(line, line.contains("tenant-it"));
        assertTrue(line, line.contains("\"model\":\"" + MODEL + "\""));

        String health = get("/health").body();
        for (String component : List.of("memory/heap", "telemetry", "exporter/jsonlog", "exporter/otlp")) {
            assertTrue(component + " in " + health, health.contains("\"component\":\"" + component + "\""));
        }
        String shell = shell("halyard:metrics --no-format");
        assertTrue(shell, shell.contains(MODEL) && shell.contains("interactive") && shell.contains("heap in use"));
    }

    @Test
    public void exportersAreInstalledReconfiguredUpdatedAndRemovedWhileServing() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        awaitStatus("/v1/models", 200, Duration.ofSeconds(90));
        awaitStatus("/metrics", 200, Duration.ofSeconds(60));

        // remove Prometheus: /metrics goes, serving and the JSON log stay
        features.uninstallFeature("halyard-exporter-prometheus");
        await("/metrics to go away", () -> get("/metrics").statusCode() == 404);
        assertStillServing();
        record("it-without-prometheus", null);
        awaitLogLine("it-without-prometheus");
        features.installFeature("halyard-exporter-prometheus");
        awaitStatus("/metrics", 200, Duration.ofSeconds(60));

        // reconfigure the JSON log live: text on, redacted
        shell("config:property-set -p org.halyard.exporter.jsonlog includeText true");
        String withText = await("text in the request log", () -> {
            record("it-text", "write to jane.doe@example.com");
            return Files.readAllLines(requestLog(), StandardCharsets.UTF_8).stream()
                    .filter(l -> l.contains("it-text") && l.contains("\"prompt\"")).findFirst().orElse(null);
        });
        assertTrue(withText, withText.contains("write to [EMAIL]"));
        assertFalse(withText, withText.contains("jane.doe"));
        shell("config:property-set -p org.halyard.exporter.jsonlog includeText false");

        // update the JSON log bundle in place: it comes back and writes again; /metrics never stops
        Bundle jsonlog = halyardBundles().stream().filter(b -> b.getSymbolicName().equals("org.halyard.exporter-jsonlog"))
                .findFirst().orElseThrow();
        shell("bundle:update " + jsonlog.getBundleId());
        assertEquals(200, get("/metrics").statusCode());
        awaitHalyardActive(Duration.ofSeconds(60));
        await("the updated JSON log to write", () -> {
            record("it-after-update", null);
            return Files.readAllLines(requestLog(), StandardCharsets.UTF_8).stream().anyMatch(l -> l.contains("it-after-update"));
        });

        // remove OTLP: its health entry goes; /metrics and the JSON log go on
        features.uninstallFeature("halyard-exporter-otlp");
        await("exporter/otlp to leave /health", () -> !get("/health").body().contains("exporter/otlp"));
        assertEquals(200, get("/metrics").statusCode());
        record("it-without-otlp", null);
        awaitLogLine("it-without-otlp");
        assertStillServing();
        features.installFeature("halyard-exporter-otlp");
        await("exporter/otlp back in /health", () -> get("/health").body().contains("exporter/otlp"));

        // switch OTLP on, live, towards a collector stand-in: the embedded SDK exports from inside
        // the container (the unit tests decode what it sends)
        try (CollectorStub collector = new CollectorStub()) {
            // one update: quick successive updates of a PID backed by an etc/ file race with Felix
            // FileInstall writing the file back and reading it again
            shell("config:edit org.halyard.exporter.otlp\n"
                    + "config:property-set endpoint http://127.0.0.1:" + collector.port() + "\n"
                    + "config:property-set exportIntervalSeconds 1\n"
                    + "config:property-set enabled true\n"
                    + "config:update");
            try {
                await("spans and metrics at the collector", () -> {
                    record("it-otlp", null);
                    return collector.paths.contains("/v1/traces") && collector.paths.contains("/v1/metrics");
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; collector saw " + collector.paths + "; config "
                        + shell("config:property-list -p org.halyard.exporter.otlp") + "; health " + get("/health").body());
            }
            shell("config:property-set -p org.halyard.exporter.otlp enabled false");
        }
        assertStillServing();
    }

    /** Accepts OTLP/HTTP posts on a free port and answers 200, remembering the paths. */
    static final class CollectorStub implements AutoCloseable {
        final java.util.Set<String> paths = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private final java.net.ServerSocket server = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress());
        private final Thread thread = new Thread(this::serve, "otlp-collector-stub");

        CollectorStub() throws java.io.IOException {
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void serve() {
            while (!server.isClosed()) {
                try {
                    java.net.Socket s = server.accept();
                    // a connection each: the SDK's metric and span exporters keep their own open
                    Thread t = new Thread(() -> answer(s), "otlp-collector-stub-connection");
                    t.setDaemon(true);
                    t.start();
                } catch (java.io.IOException e) {
                    // closed
                }
            }
        }

        private void answer(java.net.Socket socket) {
            try (java.net.Socket s = socket) {
                s.setSoTimeout(30_000);
                java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(s.getInputStream()));
                java.io.OutputStream out = s.getOutputStream();
                String line;
                while ((line = readLine(in)) != null && !line.isEmpty()) {
                    paths.add(line.split(" ")[1]);
                    int length = 0;
                    String h;
                    while ((h = readLine(in)) != null && !h.isEmpty()) {
                        if (h.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                            length = Integer.parseInt(h.substring(15).trim());
                        }
                    }
                    in.readFully(new byte[length]);
                    out.write("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
            } catch (java.io.IOException | RuntimeException e) {
                // the client went away
            }
        }

        private static String readLine(java.io.DataInputStream in) throws java.io.IOException {
            StringBuilder b = new StringBuilder();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                if (c != '\r') {
                    b.append((char) c);
                }
            }
            return c == -1 && b.length() == 0 ? null : b.toString();
        }

        @Override
        public void close() throws java.io.IOException {
            server.close();
        }
    }
}
