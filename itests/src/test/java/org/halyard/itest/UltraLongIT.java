package org.halyard.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.inject.Inject;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvUsage;
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
 * The ultra-long mode in the running distribution, over HTTP: a prompt twenty times the demo
 * model's context is served through a sliding window (it completes, the answer streams, KV memory
 * stays within the configured budget), the same request with its blocks offloaded to off-heap
 * memory gives the same text, and what cannot fit is refused up front with a 4xx that says why.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class UltraLongIT extends HalyardTestSupport {

    static final String MODEL = "halyard-shakespeare-moe";
    static final ObjectMapper JSON = new ObjectMapper();
    /** The demo model's context. */
    static final int CONTEXT = 256;

    @Inject
    private ConfigurationAdmin configAdmin;

    @Inject
    private KvCacheManager kvCacheManager;

    @Configuration
    public Option[] config() {
        return distribution();
    }

    @Before
    public void modelServed() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        assumeTrue("needs the CPU engine bundle", halyardBundles().stream()
                .anyMatch(b -> b.getSymbolicName().equals("org.halyard.engine-cpu")));
        long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        HttpResponse<String> r = null;
        while (System.nanoTime() < end) {
            r = post("/v1/completions", body(List.of(1, 679, 339, 946, 983, 13), 2, false, null));
            if (r.statusCode() == 200 && bundleContext.getServiceReferences(ServingMode.class,
                    "(" + ServingMode.MODE + "=ultra-long)").size() == 1) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("the demo model did not answer: " + (r == null ? "" : r.body()));
    }

    /** A request in the ultra-long mode with token ids as the prompt. */
    static String body(List<Integer> prompt, int maxTokens, boolean stream, Object contextPolicy) {
        ObjectNode o = JSON.createObjectNode().put("model", MODEL).put("max_tokens", maxTokens).put("temperature", 0)
                .put("ignore_eos", true).put("stream", stream).put("mode", "ultra-long");
        ArrayNode ids = o.putArray("prompt");
        prompt.forEach(ids::add);
        if (contextPolicy instanceof String s) {
            o.put("context_policy", s);
        } else if (contextPolicy instanceof Map<?, ?> m) {
            o.set("context_policy", JSON.valueToTree(m));
        }
        return o.toString();
    }

    /** A prompt of {@code n} tokens: BOS, then Shakespeare's tokens over and over. */
    static List<Integer> longPrompt(int n) throws Exception {
        HttpResponse<String> r = post("/tokenize", JSON.createObjectNode().put("model", MODEL).put("prompt",
                "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
                        + "First Citizen:\nYou are all resolved rather to die than to famish?\n").toString());
        assertEquals(r.body(), 200, r.statusCode());
        JsonNode tokens = JSON.readTree(r.body()).get("tokens");
        List<Integer> out = new ArrayList<>();
        out.add(1);
        for (int i = 1; out.size() < n; i = i % (tokens.size() - 1) + 1) {
            out.add(tokens.get(i).asInt());
        }
        return out;
    }

    private void configure(String pid, Map<String, Object> changes) throws Exception {
        org.osgi.service.cm.Configuration c = configAdmin.getConfiguration(pid, null);
        Dictionary<String, Object> props = c.getProperties() == null ? new Hashtable<>() : c.getProperties();
        for (Map.Entry<String, Object> e : changes.entrySet()) {
            props.put(e.getKey(), e.getValue());
        }
        c.update(props); // one update: FileInstall races rapid successive ones
        Thread.sleep(1000);
    }

    /** The ultra-long mode's sequences in flight, from /health. */
    private static String inFlight() throws Exception {
        for (JsonNode c : JSON.readTree(get("/health").body()).get("components")) {
            if (c.get("component").asText().equals("mode/ultra-long")) {
                return c.path("attributes").path("inFlight").asText();
            }
        }
        return "";
    }

    /** The demo model's KV cache. */
    private KvCache cache() {
        for (KvCache c : kvCacheManager.caches()) {
            if (c.spec().name().equals(MODEL)) {
                return c;
            }
        }
        throw new AssertionError("no KV cache for " + MODEL + ": " + kvCacheManager.caches());
    }

    /** What one streamed request gave: its text, events, last choice chunk, and KV memory seen. */
    record Streamed(String text, int events, JsonNode closing, long maxHeldBytes, long maxColdBytes, long ttftMillis,
            long totalMillis) {
    }

    /** Streams one completion while a watcher samples the KV cache every 5 ms. */
    private Streamed stream(String json) throws Exception {
        KvCache cache = cache();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong maxHeld = new AtomicLong();
        AtomicLong maxCold = new AtomicLong();
        Thread watcher = new Thread(() -> {
            while (!done.get()) {
                KvUsage u = cache.usage();
                maxHeld.accumulateAndGet(u.usedBytes() + u.offHeapBytes() + u.diskBytes(), Math::max);
                maxCold.accumulateAndGet(u.offHeapBytes() + u.diskBytes(), Math::max);
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        watcher.start();
        long t0 = System.nanoTime();
        long first = -1;
        StringBuilder text = new StringBuilder();
        int events = 0;
        JsonNode closing = null;
        try {
            HttpResponse<java.io.InputStream> r = HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/completions"))
                    .timeout(Duration.ofSeconds(300)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, r.statusCode());
            assertEquals("slide", r.headers().firstValue("Halyard-Context-Policy").orElse(""));
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                        continue;
                    }
                    JsonNode chunk = JSON.readTree(line.substring(6));
                    assertTrue(line, chunk.get("error") == null);
                    JsonNode choice = chunk.get("choices").get(0);
                    if (!choice.get("finish_reason").isNull()) {
                        closing = choice;
                    } else {
                        if (first < 0) {
                            first = System.nanoTime();
                        }
                        events++;
                        text.append(choice.get("text").asText());
                    }
                }
            }
        } finally {
            done.set(true);
            watcher.join();
        }
        long now = System.nanoTime();
        return new Streamed(text.toString(), events, closing, maxHeld.get(), maxCold.get(),
                (first - t0) / 1_000_000, (now - t0) / 1_000_000);
    }

    @Test
    public void aPromptTwentyTimesTheContextStreamsWithinItsBudgetAndOffloadingChangesNoToken() throws Exception {
        // INT8 blocks of the demo model are 8256 bytes for 16 tokens; the block being written
        // is staged as F32 (32 KiB). A 256-token window needs 16 blocks: 16 x 8256 + 24512
        long budget = 16 * 8256 + 24512;
        configure("org.halyard.mode.ultralong", Map.of("maxBytesPerSequence", Long.toString(budget)));
        List<Integer> prompt = longPrompt(20 * CONTEXT);

        Streamed hot = stream(body(prompt, 48, true, null));
        String figures = String.format("%d-token prompt: first token after %d ms (%.0f prompt tokens/s), %d ms in all; "
                + "KV held at most %d bytes (budget %d)", prompt.size(), hot.ttftMillis(),
                prompt.size() * 1000.0 / hot.ttftMillis(), hot.totalMillis(), hot.maxHeldBytes(), budget);
        System.out.println(figures);
        assertTrue(figures, hot.closing() != null);
        assertEquals(hot.closing().toString(), "length", hot.closing().get("finish_reason").asText());
        assertTrue("the answer streams: " + hot.events() + " events", hot.events() >= 10);
        JsonNode ctx = hot.closing().get("context");
        assertEquals(ctx.toString(), "slide", ctx.get("policy").asText());
        assertEquals(ctx.toString(), CONTEXT, ctx.get("window_tokens").asInt());
        assertTrue(ctx.toString(), ctx.get("evicted_tokens").asInt() >= prompt.size() + 48 - CONTEXT - 64);
        assertTrue(figures, hot.maxHeldBytes() > 0 && hot.maxHeldBytes() <= budget);

        // the same request through a hot pool of a few blocks: its own blocks go off-heap and are
        // read there in place; the tokens are the same
        configure("org.halyard.kvcache", Map.of("capacityBytes", "65536"));
        try {
            Streamed cold = stream(body(prompt, 48, true, null));
            System.out.println("offloaded: " + cold.maxColdBytes() + " bytes off-heap or on disk at most, first token after "
                    + cold.ttftMillis() + " ms");
            assertTrue("blocks left the hot tier: " + cold.maxColdBytes(), cold.maxColdBytes() > 0);
            assertEquals(hot.text(), cold.text());
        } finally {
            configure("org.halyard.kvcache", Map.of("capacityBytes", "268435456"));
        }
    }

    @Test
    public void truncateKeepsTheEndOfTheDocumentAndSaysHowMuchWent() throws Exception {
        List<Integer> prompt = longPrompt(4 * CONTEXT);
        HttpResponse<String> r = post("/v1/completions", body(prompt, 16, false, "truncate"));
        assertEquals(r.body(), 200, r.statusCode());
        JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
        assertEquals(r.body(), "truncate", choice.get("context").get("policy").asText());
        assertEquals(r.body(), prompt.size() - (CONTEXT - 16), choice.get("context").get("truncated_tokens").asInt());
        assertEquals("truncate", r.headers().firstValue("Halyard-Context-Policy").orElse(""));
    }

    @Test
    public void whatCannotFitIsRefusedUpFrontWithA4xxThatSaysWhy() throws Exception {
        configure("org.halyard.mode.ultralong", Map.of("maxPromptTokens", "3000", "maxBytesPerSequence", "100000",
                "maxConcurrentSequences", "1"));
        try {
            HttpResponse<String> r = post("/v1/completions", body(longPrompt(3001), 8, false, null));
            assertEquals(r.body(), 400, r.statusCode());
            assertTrue(r.body(), r.body().contains("maxPromptTokens"));

            r = post("/v1/completions", body(longPrompt(200), 50, false, "reject"));
            assertEquals(r.body(), 400, r.statusCode());
            assertTrue(r.body(), r.body().contains("maxBytesPerSequence"));

            r = post("/v1/completions", body(longPrompt(600), 8, false, "reject"));
            assertEquals(r.body(), 400, r.statusCode());
            assertTrue(r.body(), r.body().contains("context_length_exceeded") || r.body().contains("context"));

            // one long request in flight, the next one is told to come back
            List<Integer> prompt = longPrompt(2500);
            Thread first = new Thread(() -> {
                try {
                    post("/v1/completions", body(prompt, 32, false, Map.of("policy", "slide", "window_tokens", 128)));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            first.start();
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!inFlight().equals("1") && System.nanoTime() < end) {
                Thread.sleep(10);
            }
            HttpResponse<String> busy = post("/v1/completions", body(longPrompt(300), 4, false,
                    Map.of("policy", "slide", "window_tokens", 128)));
            first.join(120_000);
            assertEquals(busy.body(), 429, busy.statusCode());
            assertTrue(busy.body(), busy.body().contains("maxConcurrentSequences"));
            assertTrue(busy.headers().firstValue("Retry-After").isPresent());
        } finally {
            configure("org.halyard.mode.ultralong", Map.of("maxPromptTokens", "131072", "maxBytesPerSequence", "268435456",
                    "maxConcurrentSequences", "2"));
        }
    }
}
