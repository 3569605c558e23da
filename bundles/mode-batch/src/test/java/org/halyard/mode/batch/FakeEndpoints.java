package org.halyard.mode.batch;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.halyard.rest.api.CallOptions;
import org.halyard.rest.api.Caller;
import org.halyard.rest.api.EndpointCall;
import org.halyard.rest.api.EndpointResponse;
import org.halyard.rest.api.OpenAiEndpoints;

/**
 * OpenAI endpoints for tests: answers each body on another thread with what {@link #answer}
 * says (by default a chat completion echoing the prompt), or holds calls until released.
 */
final class FakeEndpoints implements OpenAiEndpoints {

    /** A held call. */
    final class Held implements EndpointCall {
        final String prompt;
        final CompletableFuture<EndpointResponse> future = new CompletableFuture<>();

        Held(String prompt) {
            this.prompt = prompt;
        }

        @Override
        public CompletionStage<EndpointResponse> response() {
            return future;
        }

        @Override
        public void cancel() {
            cancelled.incrementAndGet();
            pool.execute(() -> future.complete(new EndpointResponse(503,
                    "{\"error\":{\"message\":\"cancelled\",\"type\":\"service_unavailable\",\"param\":null,\"code\":\"cancelled\"}}",
                    null, "cancelled")));
        }

        void release() {
            pool.execute(() -> future.complete(answer.apply(prompt)));
        }
    }

    final ExecutorService pool = Executors.newFixedThreadPool(4);
    final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    final List<Held> held = new CopyOnWriteArrayList<>();
    final AtomicInteger cancelled = new AtomicInteger();
    final List<CallOptions> options = new CopyOnWriteArrayList<>();
    volatile boolean hold;
    volatile Function<String, EndpointResponse> answer = FakeEndpoints::ok;

    static EndpointResponse ok(String prompt) {
        return new EndpointResponse(200, "{\"id\":\"chatcmpl-" + Math.abs(prompt.hashCode()) + "\",\"object\":"
                + "\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                + "\"echo " + prompt + "\"},\"finish_reason\":\"stop\"}]}", null, null);
    }

    static EndpointResponse error(int status, String code) {
        return new EndpointResponse(status, "{\"error\":{\"message\":\"" + code + "\",\"type\":\"x\",\"param\":null,"
                + "\"code\":\"" + code + "\"}}", status == 503 || status == 429 ? java.time.Duration.ofMillis(200) : null,
                code);
    }

    static String prompt(String body) {
        try {
            JsonNode n = Jsonl.MAPPER.readTree(body);
            return n.path("messages").path(0).path("content").asText();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Set<String> endpoints() {
        return Set.of(CHAT_COMPLETIONS, COMPLETIONS);
    }

    @Override
    public EndpointCall call(String endpoint, String body, Caller caller, CallOptions opts) {
        String prompt = prompt(body);
        calls.computeIfAbsent(prompt, p -> new AtomicInteger()).incrementAndGet();
        options.add(opts);
        Held h = new Held(prompt);
        if (hold) {
            held.add(h);
        } else {
            h.release();
        }
        return h;
    }

    int totalCalls() {
        return calls.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    void releaseAll() {
        hold = false;
        for (Held h : held) {
            h.release();
        }
        held.clear();
    }

    void close() {
        pool.shutdownNow();
    }
}
