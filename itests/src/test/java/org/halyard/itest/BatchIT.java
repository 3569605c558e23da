package org.halyard.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * The batch mode in the distribution, run as a process of its own on free ports (Pax Exam cannot
 * kill its own container, and one distribution for every batch test costs one boot instead of
 * two): the official OpenAI client uploads, creates, polls, downloads, cancels and sends bad input
 * ({@code src/test/js/openai-batch.test.mjs}); the shell commands over {@code bin/client}; a batch
 * survives {@code kill -9} of the JVM mid-run (no shutdown hook, files mid-write) and, after a
 * start on the same data directory, completes with every line answered exactly once; retention
 * applied live from {@code etc/}. The tests run in name order: the crash restarts the
 * distribution the retention test then uses.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class BatchIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = "halyard-shakespeare-moe";
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Lines of the batch that is killed: enough to be mid-run after a few seconds, few enough to finish soon. */
    static final int CRASH_LINES = 200;

    private static Path home;
    private static Path data;
    private static Process process;
    private static String base;
    private static int sshPort;
    private static final Thread KILL_ON_EXIT = new Thread(() -> {
        try {
            killJvm();
        } catch (Exception ignored) {
            // best effort: the test JVM is going away
        }
    });

    @BeforeClass
    public static void startDistribution() throws Exception {
        home = unpack();
        int port = freePort();
        sshPort = freePort();
        base = "http://127.0.0.1:" + port;
        set(home.resolve("etc/org.ops4j.pax.web.cfg"), "org.osgi.service.http.port", Integer.toString(port));
        set(home.resolve("etc/org.apache.karaf.shell.cfg"), "sshPort", Integer.toString(sshPort));
        set(home.resolve("etc/org.apache.karaf.management.cfg"), "rmiRegistryPort", Integer.toString(freePort()));
        set(home.resolve("etc/org.apache.karaf.management.cfg"), "rmiServerPort", Integer.toString(freePort()));
        data = home.resolve("halyard-data");
        Runtime.getRuntime().addShutdownHook(KILL_ON_EXIT);
        start();
        awaitModel();
    }

    @AfterClass
    public static void stopDistribution() throws Exception {
        killJvm();
        try {
            Runtime.getRuntime().removeShutdownHook(KILL_ON_EXIT);
        } catch (IllegalStateException ignored) {
            // shutting down
        }
    }

    @Test
    public void a_theOfficialOpenAiClientRunsBatchesEndToEnd() throws Exception {
        Path dir = Path.of(System.getProperty("halyard.root", "..")).resolve("itests");
        assertTrue("npm ci has installed the openai package", Files.isDirectory(dir.resolve("node_modules/openai")));
        ProcessBuilder pb = new ProcessBuilder("node", "--test", "src/test/js/openai-batch.test.mjs")
                .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("HALYARD_BASE_URL", base);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("node did not finish", p.waitFor(240, TimeUnit.SECONDS));
        assertEquals("the OpenAI batch client tests failed:\n" + out, 0, p.exitValue());
        assertTrue(out, out.contains("# fail 0"));
    }

    @Test
    public void b_theShellListsShowsAndCancelsBatches() throws Exception {
        String id = createBatch(upload(lines(400, "HAMLET", 200))); // enough work to outlast the shell client
        String out = shell("halyard:batches --no-format; halyard:batches-show " + id + "; halyard:batches-cancel " + id);
        assertTrue(out, out.contains(id));
        assertTrue(out, out.contains("/v1/completions"));
        assertTrue(out, out.contains("Batch " + id + " is cancel"));
        JsonNode b = awaitEnd(id, Duration.ofSeconds(60));
        assertEquals("cancelled", b.get("status").asText());
        out = shell("halyard:batches-cancel " + id + "; halyard:batches-show batch_nope");
        assertTrue(out, out.contains("Not cancelled"));
        assertTrue(out, out.contains("No batch"));
    }

    @Test
    public void c_aBatchSurvivesKillDashNineWithEveryLineAnsweredExactlyOnce() throws Exception {
        String batch = createBatch(upload(lines(CRASH_LINES, "KING", 16)));
        // kill mid-run: some lines answered, most not
        long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        int done = 0;
        while (done < 10 && System.nanoTime() < end) {
            done = JSON.readTree(get("/v1/batches/" + batch).body()).at("/request_counts/completed").asInt();
            Thread.sleep(50);
        }
        assertTrue("lines answered before the kill: " + done, done >= 10 && done < CRASH_LINES);
        killJvm();

        start();
        JsonNode b = null;
        end = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (System.nanoTime() < end) {
            try {
                HttpResponse<String> r = get("/v1/batches/" + batch);
                if (r.statusCode() == 200) {
                    b = JSON.readTree(r.body());
                    if (b.get("status").asText().matches("completed|failed|expired|cancelled")) {
                        break;
                    }
                }
            } catch (IOException e) {
                // starting
            }
            assertTrue("the distribution stopped: " + Files.readString(home.resolve("console.log")), process.isAlive());
            Thread.sleep(500);
        }
        assertTrue("the batch after the restart: " + b, b != null);
        assertEquals("the batch after the restart: " + b, "completed", b.get("status").asText());
        assertEquals(CRASH_LINES, b.at("/request_counts/total").asInt());
        assertEquals(CRASH_LINES, b.at("/request_counts/completed").asInt());
        assertEquals(0, b.at("/request_counts/failed").asInt());
        assertTrue("no error file: " + b, b.get("error_file_id").isNull());
        String out = get("/v1/files/" + b.get("output_file_id").asText() + "/content").body();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : out.split("\n")) {
            JsonNode r = JSON.readTree(line);
            assertEquals(line, 200, r.at("/response/status_code").asInt());
            assertEquals(line, 16, r.at("/response/body/usage/completion_tokens").asInt());
            seen.merge(r.get("custom_id").asText(), 1, Integer::sum);
        }
        for (int i = 0; i < CRASH_LINES; i++) {
            assertEquals("line r" + i + " answered once", Integer.valueOf(1), seen.get("r" + i));
        }
        assertEquals(CRASH_LINES, seen.size());
        String log = Files.readString(home.resolve("data/log/karaf.log"));
        assertTrue("the restart resumed the batch", log.contains("Batch " + batch + ": resumed with"));
    }

    @Test
    public void d_retentionDeletesEndedBatchesAndTheirFilesLive() throws Exception {
        String id = createBatch(upload(lines(2, "JULIET", 4)));
        JsonNode b = awaitEnd(id, Duration.ofSeconds(60));
        assertEquals("completed", b.get("status").asText());
        String output = b.get("output_file_id").asText();
        String input = b.get("input_file_id").asText();
        // FileInstall applies the edited etc/ file to the running mode
        Path cfg = home.resolve("etc/org.halyard.mode.batch.cfg");
        set(cfg, "retention.hours", "0");
        set(cfg, "cleanupInterval.seconds", "1");
        awaitStatus("/v1/batches/" + id, 404, Duration.ofSeconds(30));
        awaitStatus("/v1/files/" + output, 404, Duration.ofSeconds(10));
        awaitStatus("/v1/files/" + input, 404, Duration.ofSeconds(10));
        assertEquals(0, JSON.readTree(get("/v1/files").body()).get("data").size());
        assertEquals(0, JSON.readTree(get("/v1/batches").body()).get("data").size());
        try (var s = Files.list(data.resolve("batch/files"))) {
            assertEquals("no file left on disk", 0, s.count());
        }
    }

    // ---- the distribution ----

    private static Path unpack() throws IOException, InterruptedException {
        Path dir = Path.of("target", "batch-it").toAbsolutePath();
        if (Files.exists(dir)) {
            try (var s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
        Files.createDirectories(dir);
        Path tar = Path.of(System.getProperty("halyard.distribution"));
        Process p = new ProcessBuilder("tar", "xzf", tar.toString(), "-C", dir.toString()).inheritIO().start();
        assertTrue("tar did not finish", p.waitFor(120, TimeUnit.SECONDS));
        try (var s = Files.list(dir)) {
            return s.filter(Files::isDirectory).findFirst().orElseThrow();
        }
    }

    /** Sets a key of a .cfg file (written whole, then moved in, so FileInstall never reads half a file). */
    private static void set(Path cfg, String key, String value) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(cfg));
        lines.removeIf(l -> l.trim().matches(java.util.regex.Pattern.quote(key) + "\\s*=.*"));
        lines.add(key + " = " + value);
        Path tmp = cfg.resolveSibling(cfg.getFileName() + ".tmp");
        Files.write(tmp, lines);
        Files.move(tmp, cfg, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void start() throws IOException {
        Files.deleteIfExists(home.resolve("karaf.pid"));
        ProcessBuilder pb = new ProcessBuilder("bin/karaf", "server").directory(home.toFile())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(
                        home.resolve("console.log").toFile()));
        pb.environment().put("EXTRA_JAVA_OPTS", "-Dhalyard.data=" + data + " -Xmx1g");
        process = pb.start();
    }

    /** {@code kill -9} of the JVM (bin/karaf's child, whose pid Karaf writes to karaf.pid). */
    private static synchronized void killJvm() throws Exception {
        if (home == null) {
            return;
        }
        Path pidFile = home.resolve("karaf.pid");
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!Files.exists(pidFile) && process != null && process.isAlive() && System.nanoTime() < end) {
            Thread.sleep(100);
        }
        if (Files.exists(pidFile)) {
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            ProcessHandle.of(pid).ifPresent(h -> {
                h.destroyForcibly(); // SIGKILL on Linux: kill -9
                h.onExit().join();
            });
            Files.deleteIfExists(pidFile);
        }
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            process = null;
        }
    }

    private static void awaitModel() throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (System.nanoTime() < end) {
            try {
                if (post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"x\",\"max_tokens\":1}")
                        .statusCode() == 200 && get("/v1/batches").statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            assertTrue("the distribution stopped: " + Files.readString(home.resolve("console.log")), process.isAlive());
            Thread.sleep(500);
        }
        throw new AssertionError("the distribution did not serve the model within 180 s");
    }

    /** Runs Karaf shell commands over SSH ({@code bin/client}) and returns what they printed. */
    private static String shell(String commands) throws Exception {
        Process p = new ProcessBuilder("bin/client", "-a", Integer.toString(sshPort), "-h", "127.0.0.1", "-u", "karaf",
                "-p", "karaf", "-r", "5", commands).directory(home.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("bin/client did not finish", p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 0, p.exitValue());
        return out;
    }

    // ---- the API ----

    /** {@code n} completion lines r0..r{n-1} of exactly {@code tokens} tokens each. */
    private static String lines(int n, String speaker, int tokens) {
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < n; i++) {
            jsonl.append("{\"custom_id\":\"r").append(i).append("\",\"method\":\"POST\",\"url\":\"/v1/completions\","
                    + "\"body\":{\"model\":\"" + MODEL + "\",\"prompt\":\"").append(speaker).append(' ').append(i)
                    .append(":\\n\",\"max_tokens\":").append(tokens).append(",\"ignore_eos\":true,\"temperature\":0}}\n");
        }
        return jsonl.toString();
    }

    private static String upload(String jsonl) throws Exception {
        String boundary = "----batchit" + System.nanoTime();
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
                + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + jsonl + "\r\n--" + boundary + "--\r\n";
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/files"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(r.body(), 200, r.statusCode());
        return JSON.readTree(r.body()).get("id").asText();
    }

    private static String createBatch(String file) throws Exception {
        HttpResponse<String> r = post("/v1/batches", "{\"input_file_id\":\"" + file + "\",\"endpoint\":"
                + "\"/v1/completions\",\"completion_window\":\"24h\"}");
        assertEquals(r.body(), 200, r.statusCode());
        return JSON.readTree(r.body()).get("id").asText();
    }

    private static JsonNode awaitEnd(String id, Duration timeout) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        JsonNode b = null;
        while (System.nanoTime() < end) {
            b = JSON.readTree(get("/v1/batches/" + id).body());
            if (b.get("status").asText().matches("completed|failed|expired|cancelled")) {
                return b;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("batch " + id + " did not end: " + b);
    }

    private static void awaitStatus(String path, int status, Duration timeout) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        HttpResponse<String> last = null;
        while (System.nanoTime() < end) {
            last = get(path);
            if (last.statusCode() == status) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("GET " + path + " did not answer " + status + " within " + timeout + "; last: "
                + last.statusCode() + " " + last.body());
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static HttpResponse<String> post(String path, String json) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }
}
