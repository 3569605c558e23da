package org.halyard.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HexFormat;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.inject.Inject;
import org.halyard.serving.api.ServingMode;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The serving path against the real demo model in a running distribution: the official OpenAI
 * client, many concurrent streams, overload and quotas, access control, bad and naughty input,
 * tokenization and the shell commands. Expected texts are the model's greedy references
 * ({@code models/halyard-shakespeare-moe/reference-outputs.json}).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ServingIT extends HalyardTestSupport {

    static final String MODEL = "halyard-shakespeare-moe";
    static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    private ConfigurationAdmin configAdmin;

    @Configuration
    public Option[] config() {
        return distribution();
    }

    @Before
    public void modelServed() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        assumeTrue("needs the CPU engine bundle (org.halyard.engine-cpu)", halyardBundles().stream()
                .anyMatch(b -> b.getSymbolicName().equals("org.halyard.engine-cpu")));
        long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        HttpResponse<String> r = null;
        while (System.nanoTime() < end) {
            r = post("/v1/completions", completion("To be, or not to be", 4));
            if (r.statusCode() == 200) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("the demo model did not answer a completion: " + (r == null ? "" : r.body()));
    }

    static String completion(String prompt, int maxTokens) {
        ObjectNode o = JSON.createObjectNode().put("model", MODEL).put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0);
        return o.toString();
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body());
    }

    private static Path root() {
        return Path.of(System.getProperty("halyard.root", ".."));
    }

    @Test
    public void theOfficialOpenAiClientCompletesChatsAndStreams() throws Exception {
        Path dir = root().resolve("itests");
        assertTrue("npm ci has installed the openai package into " + dir.resolve("node_modules"),
                Files.isDirectory(dir.resolve("node_modules/openai")));
        ProcessBuilder pb = new ProcessBuilder("node", "--test", "src/test/js/openai-client.test.mjs")
                .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("HALYARD_BASE_URL", baseUrl());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("node did not finish", p.waitFor(120, TimeUnit.SECONDS));
        assertEquals("the OpenAI client tests failed:\n" + out, 0, p.exitValue());
        assertTrue(out, out.contains("# fail 0"));
    }

    @Test
    public void concurrentStreamsEachGetTheirOwnText() throws Exception {
        List<String> prompts = List.of("First Citizen:\n", "ROMEO:\nO, ", "JULIET:\n", "To be, or not to be",
                "KING RICHARD III:\nNow is the winter of our discontent\n", "MENENIUS:\nI tell you, friends, ",
                "QUEEN MARGARET:\n", "HAMLET:\n", "Second Citizen:\nWe are accounted poor citizens", "GLOUCESTER:\n",
                "LADY ANNE:\nSet down, set down your honourable load", "CLARENCE:\n");
        List<String> expected = new ArrayList<>();
        for (String p : prompts) {
            HttpResponse<String> r = post("/v1/completions", body(p, 48, false));
            assertEquals(r.body(), 200, r.statusCode());
            expected.add(json(r).get("choices").get(0).get("text").asText());
        }
        ExecutorService pool = Executors.newFixedThreadPool(prompts.size() * 2);
        try {
            List<Future<String>> streams = new ArrayList<>();
            for (int round = 0; round < 2; round++) {
                for (String p : prompts) {
                    streams.add(pool.submit(() -> stream(p)));
                }
            }
            for (int i = 0; i < streams.size(); i++) {
                assertEquals("stream " + i + " got another request's text", expected.get(i % prompts.size()),
                        streams.get(i).get(120, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static String body(String prompt, int maxTokens, boolean stream) {
        return JSON.createObjectNode().put("model", MODEL).put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).put("ignore_eos", true).put("stream", stream).toString();
    }

    /** A streamed completion's text, checking the SSE framing on the way. */
    static String stream(String prompt) throws Exception {
        HttpResponse<java.util.stream.Stream<String>> r = HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl()
                + "/v1/completions")).timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body(prompt, 48, true))).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        StringBuilder text = new StringBuilder();
        boolean done = false;
        String finish = null;
        for (String line : (Iterable<String>) r.body()::iterator) {
            if (!line.startsWith("data: ")) {
                continue;
            }
            String data = line.substring(6);
            if (data.equals("[DONE]")) {
                done = true;
                break;
            }
            JsonNode c = JSON.readTree(data).get("choices").get(0);
            text.append(c.get("text").asText());
            if (!c.get("finish_reason").isNull()) {
                finish = c.get("finish_reason").asText();
            }
        }
        assertTrue("the stream ends with [DONE]", done);
        assertEquals("length", finish);
        return text.toString();
    }

    @Test
    public void overloadIsRefusedFastWithRetryAfterWhileAdmittedRequestsFinish() throws Exception {
        org.osgi.service.cm.Configuration c = configAdmin.getConfiguration("org.halyard.mode.interactive", null);
        Dictionary<String, Object> saved = c.getProperties();
        Dictionary<String, Object> tight = copy(saved);
        tight.put("maxRunning", "2");
        tight.put("maxQueuedRequests", "1");
        c.update(tight);
        try {
            awaitLimit(2);
            int n = 24;
            ExecutorService pool = Executors.newFixedThreadPool(n);
            List<Future<long[]>> all = new ArrayList<>();
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            for (int i = 0; i < n; i++) {
                all.add(pool.submit(() -> {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = post("/v1/completions", body("First Citizen:\n", 64, false));
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    if (r.statusCode() == 200) {
                        JsonNode b = json(r);
                        if (!b.get("choices").get(0).get("finish_reason").asText().equals("length")
                                || b.get("usage").get("completion_tokens").asInt() != 64) {
                            problems.add("admitted request did not finish normally: " + r.body());
                        }
                    } else if (r.statusCode() == 503 || r.statusCode() == 429) {
                        if (r.headers().firstValue("Retry-After").isEmpty()) {
                            problems.add("no Retry-After on " + r.statusCode());
                        }
                        if (!json(r).get("error").get("message").asText().contains("retry")) {
                            problems.add("the refusal does not say to retry: " + r.body());
                        }
                    } else {
                        problems.add("unexpected " + r.statusCode() + " " + r.body());
                    }
                    return new long[] {r.statusCode(), ms};
                }));
            }
            int ok = 0;
            int refused = 0;
            long slowestRefusal = 0;
            for (Future<long[]> f : all) {
                long[] r = f.get(120, TimeUnit.SECONDS);
                if (r[0] == 200) {
                    ok++;
                } else {
                    refused++;
                    slowestRefusal = Math.max(slowestRefusal, r[1]);
                }
            }
            pool.shutdown();
            assertEquals(List.of(), new ArrayList<>(problems));
            assertTrue("some requests were admitted: " + ok, ok >= 3);
            assertTrue("some requests were refused: " + refused, refused >= 1);
            // refusals come at once, not after queueing (generous bound for a loaded CI machine)
            assertTrue("slowest refusal took " + slowestRefusal + " ms", slowestRefusal < 2000);
            assertEquals(200, get("/health").statusCode());
        } finally {
            c.update(saved);
            awaitLimit(Integer.parseInt(String.valueOf(saved.get("maxRunning"))));
        }
    }

    private void awaitLimit(int maxRunning) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < end) {
            var refs = bundleContext.getServiceReferences(ServingMode.class, "(halyard.mode=interactive)");
            if (!refs.isEmpty()) {
                ServingMode m = bundleContext.getService(refs.iterator().next());
                try {
                    if (m != null && m.limits().maxRunning() == maxRunning) {
                        return;
                    }
                } finally {
                    bundleContext.ungetService(refs.iterator().next());
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the interactive mode did not apply maxRunning=" + maxRunning);
    }

    static Dictionary<String, Object> copy(Dictionary<String, Object> d) {
        Hashtable<String, Object> h = new Hashtable<>();
        for (var e = d.keys(); e.hasMoreElements();) {
            String k = e.nextElement();
            h.put(k, d.get(k));
        }
        return h;
    }

    static String sha256(String key) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    }

    private org.osgi.service.cm.Configuration apiKey(String name, String key, String roles, int rpm) throws Exception {
        org.osgi.service.cm.Configuration c = configAdmin.getFactoryConfiguration("org.halyard.rest.apikey", name, null);
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("name", name);
        p.put("sha256", sha256(key));
        p.put("roles", roles);
        p.put("requestsPerMinute", Integer.toString(rpm));
        c.update(p);
        return c;
    }

    static HttpResponse<String> send(String method, String path, String json, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json");
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        b.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** Retries until the API key configuration has reached the REST bundle. */
    private static HttpResponse<String> awaitStatus(String method, String path, String json, String key, int status)
            throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        HttpResponse<String> r;
        do {
            r = send(method, path, json, key);
            if (r.statusCode() == status) {
                return r;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < end);
        throw new AssertionError(method + " " + path + " answered " + r.statusCode() + " instead of " + status + ": "
                + r.body());
    }

    @Test
    public void apiKeysCarryQuotasAndRolesAndClosedAccessNeedsOne() throws Exception {
        org.osgi.service.cm.Configuration quota = apiKey("it-quota", "it-quota-key-0123456789", "user", 2);
        org.osgi.service.cm.Configuration admin = apiKey("it-admin", "it-admin-key-0123456789", "admin", 0);
        org.osgi.service.cm.Configuration rest = configAdmin.getConfiguration("org.halyard.rest", null);
        Dictionary<String, Object> saved = rest.getProperties();
        try {
            // a key's quota: 2 requests per minute, the third is refused with 429 and Retry-After
            awaitStatus("GET", "/admin/requests", null, "it-admin-key-0123456789", 200);
            String req = completion("To be, or not to be", 2);
            assertEquals(200, send("POST", "/v1/completions", req, "it-quota-key-0123456789").statusCode());
            assertEquals(200, send("POST", "/v1/completions", req, "it-quota-key-0123456789").statusCode());
            HttpResponse<String> third = send("POST", "/v1/completions", req, "it-quota-key-0123456789");
            assertEquals(third.body(), 429, third.statusCode());
            assertTrue(third.headers().firstValue("Retry-After").isPresent());
            assertEquals("rate_limit_exceeded", json(third).get("error").get("type").asText());
            // the admin endpoint needs the admin role
            HttpResponse<String> forbidden = send("GET", "/admin/requests", null, null);
            assertEquals(forbidden.body(), 403, forbidden.statusCode());

            Dictionary<String, Object> closed = copy(saved);
            closed.put("openAccess", "false");
            rest.update(closed);
            HttpResponse<String> noKey = awaitStatus("POST", "/v1/completions", req, null, 401);
            assertTrue(noKey.body(), noKey.body().contains("Authorization: Bearer"));
            assertEquals(401, send("POST", "/v1/completions", req, "not-a-key").statusCode());
            assertEquals(401, send("GET", "/v1/models", null, null).statusCode());
            assertEquals(200, send("GET", "/v1/models", null, "it-admin-key-0123456789").statusCode());
            assertEquals("health stays open for probes", 200, get("/health").statusCode());
        } finally {
            rest.update(saved);
            quota.delete();
            admin.delete();
            awaitStatus("POST", "/v1/completions", completion("To be, or not to be", 2), null, 200);
        }
    }

    @Test
    public void badRequestsGetAClear4xxAndTheServerStaysHealthy() throws Exception {
        String[][] cases = {
            // body, expected status, text the message or param must contain
            {"{\"model\": \"" + MODEL + "\", \"prompt\": ", "400", "not valid JSON"},
            {"[1, 2, 3]", "400", "JSON object"},
            {"", "400", "empty"},
            {"{\"prompt\": \"hi\"}", "400", "'model' is required"},
            {"{\"model\": \"nope\", \"prompt\": \"hi\"}", "404", "does not exist"},
            {"{\"model\": \"" + MODEL + "\"}", "400", "'prompt' is required"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": 42}", "400", "'prompt' must be"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"max_tokens\": \"ten\"}", "400", "must be an integer"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"max_tokens\": 0}", "400", "between 1"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"max_tokens\": 100000}", "400", "max_tokens"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"max_tokens\": 300}", "400", "context"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"temperature\": -1}", "400", "temperature"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"top_p\": 0}", "400", "top_p"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"n\": 1000}", "400", "'n'"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"stop\": {\"a\": 1}}", "400", "'stop'"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"logit_bias\": {\"abc\": 1}}", "400", "logit_bias"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"logprobs\": 99}", "400", "logprobs"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"stream\": \"yes\"}", "400", "stream"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"hi\", \"mode\": \"warp\"}", "404", "warp"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": [99999]}", "400", "token id"},
            {"{\"model\": \"" + MODEL + "\", \"prompt\": \"" + "word ".repeat(400) + "\"}", "400", "context"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = post("/v1/completions", c[0]);
            assertEquals(c[0] + " -> " + r.body(), Integer.parseInt(c[1]), r.statusCode());
            JsonNode e = json(r).get("error");
            assertNotNull(r.body(), e);
            assertTrue(c[0] + " -> " + r.body(), e.get("message").asText().contains(c[2])
                    || e.path("param").asText().contains(c[2]));
            assertTrue(r.body(), e.get("type").asText().endsWith("error"));
        }
        String[][] chat = {
            {"{\"model\": \"" + MODEL + "\", \"messages\": []}", "400", "messages"},
            {"{\"model\": \"" + MODEL + "\", \"messages\": \"hi\"}", "400", "messages"},
            {"{\"model\": \"" + MODEL + "\", \"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}", "400", "role"},
            {"{\"model\": \"" + MODEL + "\", \"messages\": [{\"role\": \"user\", \"content\": 5}]}", "400", "content"},
            {"{\"model\": \"" + MODEL + "\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
                    + "\"response_format\": {\"type\": \"json_object\"}}", "400", "response_format"},
            {"{\"model\": \"" + MODEL + "\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
                    + "\"tools\": [{\"type\": \"function\"}]}", "400", "tools"},
        };
        for (String[] c : chat) {
            HttpResponse<String> r = post("/v1/chat/completions", c[0]);
            assertEquals(c[0] + " -> " + r.body(), Integer.parseInt(c[1]), r.statusCode());
            JsonNode e = json(r).get("error");
            assertTrue(c[0] + " -> " + r.body(), e.get("message").asText().contains(c[2])
                    || e.path("param").asText().contains(c[2]));
        }
        // an oversized body: 413 before it is parsed
        HttpResponse<String> big = post("/v1/completions", "{\"model\": \"" + MODEL + "\", \"prompt\": \""
                + "x".repeat(2_000_000) + "\"}");
        assertEquals(413, big.statusCode());
        assertTrue(big.body(), big.body().contains("maxRequestBytes"));
        assertEquals(200, get("/health").statusCode());
        HttpResponse<String> fine = post("/v1/completions", completion("First Citizen:\n", 40));
        assertEquals("What, I am away?", json(fine).get("choices").get(0).get("text").asText());
    }

    @Test
    public void everyNaughtyStringIsAnsweredAndTheServerStaysHealthy() throws Exception {
        List<String> strings = Files.readAllLines(root().resolve("itests/src/test/resources/naughty-strings/blns.txt"),
                StandardCharsets.UTF_8).stream().filter(s -> !s.isEmpty() && !s.startsWith("#")).toList();
        assertTrue("the list has its ~500 strings: " + strings.size(), strings.size() > 400);
        // eight clients: the scheduler batches them, so the ~1000 requests take seconds
        ExecutorService pool = Executors.newFixedThreadPool(8);
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        List<Future<?>> all = new ArrayList<>();
        for (String s : strings) {
            all.add(pool.submit(() -> {
                String prompt = JSON.createObjectNode().put("model", MODEL).put("prompt", s).put("max_tokens", 2).toString();
                ObjectNode chat = JSON.createObjectNode().put("model", MODEL).put("max_tokens", 2);
                chat.putArray("messages").addObject().put("role", "user").put("content", s);
                for (String[] req : new String[][] {{"/v1/completions", prompt}, {"/v1/chat/completions", chat.toString()}}) {
                    HttpResponse<String> r = post(req[0], req[1]);
                    boolean ok = r.statusCode() == 200 && json(r).get("choices").size() == 1;
                    boolean clear = r.statusCode() == 400 && json(r).path("error").path("code").asText()
                            .equals("context_length_exceeded");
                    if (!ok && !clear) {
                        problems.add(req[0] + " " + JSON.writeValueAsString(s) + " -> " + r.statusCode() + " " + r.body());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : all) {
            f.get(300, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertEquals(List.of(), new ArrayList<>(problems));
        assertEquals(200, get("/health").statusCode());
        assertEquals(200, get("/ready").statusCode());
    }

    @Test
    public void tokenizeAndDetokenizeRoundTrip() throws Exception {
        HttpResponse<String> t = post("/tokenize", "{\"model\": \"" + MODEL + "\", \"prompt\": \"First Citizen:\\n\"}");
        assertEquals(t.body(), 200, t.statusCode());
        JsonNode tokens = json(t).get("tokens");
        assertEquals("[1,679,339,946,983,13]", tokens.toString()); // the reference prompt ids
        assertEquals(256, json(t).get("max_model_len").asInt());
        HttpResponse<String> d = post("/detokenize", "{\"model\": \"" + MODEL + "\", \"tokens\": " + tokens
                + ", \"skip_special_tokens\": true}");
        assertEquals("First Citizen:\n", json(d).get("prompt").asText());
        HttpResponse<String> chat = post("/tokenize", "{\"model\": \"" + MODEL + "\", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"What news from Verona?\"}]}");
        assertEquals(27, json(chat).get("count").asInt());
        assertEquals(400, post("/detokenize", "{\"model\": \"" + MODEL + "\", \"tokens\": [5000]}").statusCode());
    }

    @Test
    public void shellGeneratesAndListsRequests() throws Exception {
        String out = shell("halyard:generate --model " + MODEL + " -n 8 \"To be, or not to be\"");
        assertTrue(out, out.contains("To be, or not to be."));
        assertTrue(out, out.contains("[stop;"));
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<HttpResponse<String>> longOne = pool.submit(() -> post("/v1/completions",
                body("JULIET:\n", 200, false)));
        String listed = "";
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < end && !listed.contains("running")) {
            listed = shell("halyard:requests --no-format");
        }
        assertTrue(listed, listed.contains("running") && listed.contains(MODEL) && listed.contains("interactive"));
        assertEquals(200, longOne.get(60, TimeUnit.SECONDS).statusCode());
        pool.shutdown();
    }
}
