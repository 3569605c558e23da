package org.halyard.rest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.annotation.Annotation;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.ws.rs.core.Response;
import javax.ws.rs.core.StreamingOutput;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelInfo;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.engine.api.Tokenizer;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.rest.api.ApiError;
import org.halyard.rest.api.ApiException;
import org.halyard.rest.api.Caller;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.FinishReason;
import org.halyard.serving.api.GeneratedToken;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.ModeLimits;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.ServingMode;
import org.halyard.serving.api.Usage;
import org.junit.jupiter.api.Test;

class GenerationsTest {

    static final FakeTokenizer TOK = new FakeTokenizer();

    /** A model that is only a tokenizer and a context length. */
    static final Model MODEL = new Model() {
        @Override public ModelInfo info() {
            return new ModelInfo("m", "v1", "fake", "none", "F32", 64, FakeTokenizer.VOCAB, 1, 8, 1, 1, 8, 0, 0, 1, 1, Map.of());
        }
        @Override public Tokenizer tokenizer() { return TOK; }
        @Override public Optional<String> chatTemplate() { return Optional.of(ChatTemplateTest.DEMO); }
        @Override public KvLayout kvLayout() { return new KvLayout(1, 1, 8); }
        @Override public StepResult step(List<StepEntry> entries) { throw new UnsupportedOperationException(); }
    };

    /** Answers every request with the text "ab" and a stop, on another thread, or rejects. */
    static class FakeMode implements ServingMode {
        final List<GenerationRequest> seen = new ArrayList<>();
        RejectedException reject;

        @Override public String name() { return "interactive"; }
        @Override public PriorityClass priority() { return PriorityClass.INTERACTIVE; }
        @Override public ModeLimits limits() { return new ModeLimits(100, 50, 4, 1000, 4); }

        @Override
        public GenerationHandle submit(GenerationRequest r, GenerationListener l) throws RejectedException {
            if (reject != null) {
                throw reject;
            }
            seen.add(r);
            CompletableFuture<Completion> f = new CompletableFuture<>();
            new Thread(() -> {
                l.onToken(new GeneratedToken(0, FakeTokenizer.tokenOf('a'), "a", -0.5f, List.of()));
                l.onToken(new GeneratedToken(1, FakeTokenizer.tokenOf('b'), "b", -0.25f, List.of()));
                Completion c = new Completion(r.requestId(), FinishReason.STOP, "ab", new Usage(r.promptLength(), 2, 0),
                        Duration.ZERO, Duration.ZERO, Duration.ZERO, 0, Optional.empty(),
                        new org.halyard.serving.api.ContextReport(r.context() == null
                                ? org.halyard.serving.api.ContextPolicy.Overflow.REJECT : r.context().overflow(), 0, 0, 64));
                l.onComplete(c);
                f.complete(c);
            }).start();
            return new GenerationHandle() {
                @Override public String requestId() { return r.requestId(); }
                @Override public void cancel() { }
                @Override public CompletionStage<Completion> completion() { return f; }
            };
        }
    }

    final FakeMode mode = new FakeMode();
    final Generations generations = new Generations();
    final Access access = new Access(config());

    GenerationsTest() {
        generations.addMode(mode);
    }

    static Access.Config config() {
        return new Access.Config() {
            @Override public Class<? extends Annotation> annotationType() { return Access.Config.class; }
            @Override public boolean openAccess() { return true; }
            @Override public String[] openAccessRoles() { return new String[] {"user"}; }
            @Override public int maxRequestBytes() { return 10_000; }
            @Override public int maxChoices() { return 4; }
            @Override public int maxPrompts() { return 4; }
            @Override public String defaultMode() { return "interactive"; }
        };
    }

    Response run(String json, boolean chat) {
        Params p = Params.read(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), null, 10_000);
        Caller caller = access.authenticate(null, Caller.USER);
        GenerationParams params = GenerationParams.parse(p, MODEL, access.config(), chat);
        String id = "id-1";
        Generations.TokenText tt = new Generations.TokenText(TOK);
        if (chat) {
            ChatCompletionsResource.messages(p);
            int[] prompt = TOK.encode("<s>USER:\nhi</s><s>ASSISTANT:\n", false, true);
            return generations.run(id, caller, access.config(), "/v1/chat/completions", MODEL, params, List.of(prompt),
                    null, new Generations.ChatFlavor(id, "m", tt, params.logprobs() >= 0));
        }
        List<int[]> prompts = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        CompletionsResource.prompts(p, TOK, 4, prompts, texts);
        return generations.run(id, caller, access.config(), "/v1/completions", MODEL, params, prompts,
                p.bool("echo", false) ? texts : null,
                new Generations.CompletionFlavor(id, "m", tt, params.logprobs() >= 0));
    }

    static JsonNode json(Response r) throws IOException {
        return Json.MAPPER.valueToTree(r.getEntity());
    }

    static List<String> events(Response r) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ((StreamingOutput) r.getEntity()).write(out);
        List<String> data = new ArrayList<>();
        for (String block : out.toString(StandardCharsets.UTF_8).split("\n\n")) {
            if (block.startsWith("data: ")) {
                data.add(block.substring(6));
            }
        }
        return data;
    }

    @Test
    void completionAnswersInOpenAisShape() throws Exception {
        JsonNode b = json(run("{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":5,\"n\":2,\"logprobs\":1}", false));
        assertEquals("text_completion", b.get("object").asText());
        assertEquals(2, b.get("choices").size());
        assertEquals("ab", b.get("choices").get(1).get("text").asText());
        assertEquals(1, b.get("choices").get(1).get("index").asInt());
        assertEquals("stop", b.get("choices").get(0).get("finish_reason").asText());
        assertEquals(-0.5, b.get("choices").get(0).get("logprobs").get("token_logprobs").get(0).asDouble());
        assertEquals(3, b.get("usage").get("prompt_tokens").asInt(), "BOS + 2 bytes, counted once for n=2");
        assertEquals(4, b.get("usage").get("completion_tokens").asInt());
        assertEquals(2, mode.seen.size());
        assertEquals(5, mode.seen.get(0).maxTokens());
        assertTrue(mode.seen.get(0).sampling().seed() != mode.seen.get(1).sampling().seed());
    }

    @Test
    void chatStreamsChunksEndingInDone() throws Exception {
        Response r = run("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}", true);
        assertTrue(r.getMediaType().toString().startsWith("text/event-stream"));
        List<String> ev = events(r);
        assertEquals("[DONE]", ev.get(ev.size() - 1));
        JsonNode first = Json.MAPPER.readTree(ev.get(0));
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String e : ev.subList(0, ev.size() - 1)) {
            JsonNode c = Json.MAPPER.readTree(e);
            if (c.get("choices").isEmpty()) {
                usage = c.get("usage");
                continue;
            }
            JsonNode ch = c.get("choices").get(0);
            text.append(ch.get("delta").path("content").asText(""));
            if (!ch.get("finish_reason").isNull()) {
                finish = ch.get("finish_reason").asText();
            }
        }
        assertEquals("ab", text.toString());
        assertEquals("stop", finish);
        assertEquals(2, usage.get("completion_tokens").asInt());
        // chat default max_tokens: the rest of the context, within the mode's limit
        assertEquals(Math.min(64 - mode.seen.get(0).promptLength(), 50), mode.seen.get(0).maxTokens());
    }

    @Test
    void rejectionsKeepTheirStatusAndRetryAfter() {
        mode.reject = new RejectedException(RejectedException.Reason.QUOTA, "slow down", Duration.ofSeconds(7));
        ApiException e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"prompt\":\"hi\"}", false));
        assertEquals(429, e.getResponse().getStatus());
        assertEquals("7", e.getResponse().getHeaderString("Retry-After"));
        mode.reject = new RejectedException(RejectedException.Reason.OVERLOAD, "busy", Duration.ofSeconds(2));
        e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"prompt\":\"hi\"}", false));
        assertEquals(503, e.getResponse().getStatus());
    }

    @Test
    void maxTokensBeyondTheContextIsAClear400() {
        ApiException e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":62}", false));
        assertEquals(400, e.getResponse().getStatus());
        ApiError.Body b = ((ApiError.Envelope) e.getResponse().getEntity()).error();
        assertEquals("context_length_exceeded", b.code());
        assertTrue(b.message().contains("at most 61"), b.message());
    }

    @Test
    void unknownModesAndBadFieldsAreRefused() {
        ApiException e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"prompt\":\"hi\",\"mode\":\"turbo\"}", false));
        assertEquals(404, e.getResponse().getStatus());
        e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"prompt\":[]}", false));
        assertEquals(400, e.getResponse().getStatus());
        e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"prompt\":\"x\",\"logit_bias\":{\"99999\":1}}", false));
        assertEquals(400, e.getResponse().getStatus());
        e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", true));
        assertEquals(400, e.getResponse().getStatus());
    }

    @Test
    void aClientThatGoesAwayCancelsTheStream() throws Exception {
        boolean[] cancelled = {false};
        ServingMode slow = new FakeMode() {
            @Override
            public GenerationHandle submit(GenerationRequest r, GenerationListener l) {
                return new GenerationHandle() {
                    @Override public String requestId() { return r.requestId(); }
                    @Override public void cancel() {
                        cancelled[0] = true;
                        l.onComplete(new Completion(r.requestId(), FinishReason.CANCELLED, "", new Usage(1, 0, 0),
                                Duration.ZERO, null, Duration.ZERO, 0, Optional.empty()));
                    }
                    @Override public CompletionStage<Completion> completion() { return new CompletableFuture<>(); }
                };
            }
        };
        generations.removeMode(mode);
        generations.addMode(slow);
        Response r = run("{\"model\":\"m\",\"prompt\":\"hi\",\"stream\":true}", false);
        OutputStream broken = new OutputStream() {
            @Override public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        assertThrows(IOException.class, () -> ((StreamingOutput) r.getEntity()).write(broken));
        assertTrue(cancelled[0]);
    }

    @Test
    void refusalsBeforeAdmissionAreReportedOnceAndAdmissionRefusalsAreLeftToTheMode() {
        List<org.halyard.telemetry.api.RequestRecord> records = new ArrayList<>();
        generations.telemetry = new org.halyard.telemetry.api.Telemetry() {
            @Override public void record(org.halyard.telemetry.api.RequestRecord r) { records.add(r); }
            @Override public void step(org.halyard.telemetry.api.StepRecord r) { }
        };
        ApiException invalid = ApiException.invalid("n", "'n' must be between 1 and 8");
        generations.refused("/v1/completions", null, "m", invalid, java.time.Instant.now());
        assertEquals(1, records.size());
        assertEquals(org.halyard.telemetry.api.Outcome.REJECTED, records.get(0).outcome());
        assertEquals(400, records.get(0).httpStatus());
        assertEquals("invalid_value", records.get(0).finishReason());
        mode.reject = new RejectedException(RejectedException.Reason.OVERLOAD, "busy", Duration.ofSeconds(1));
        ApiException e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"prompt\":\"hi\"}", false));
        generations.refused("/v1/completions", null, "m", e, java.time.Instant.now());
        assertEquals(1, records.size(), "the mode reports its own refusals");
    }

    @Test
    void aContextPolicyOtherThanRejectSkipsTheUpFrontChecksGoesWithTheRequestAndIsReported() throws Exception {
        String longPrompt = "x".repeat(100); // past the 64-token context
        RuntimeException e = assertThrows(ApiException.class,
                () -> run("{\"model\":\"m\",\"prompt\":\"" + longPrompt + "\"}", false));
        assertTrue(e.getMessage().contains("context"), e.getMessage());

        Response r = run("{\"model\":\"m\",\"prompt\":\"" + longPrompt + "\",\"max_tokens\":30,"
                + "\"context_policy\":\"slide\"}", false);
        assertEquals("slide", r.getHeaderString(Generations.CONTEXT_POLICY_HEADER));
        JsonNode body = json(r);
        assertEquals("slide", body.at("/choices/0/context/policy").asText());
        assertEquals(0, body.at("/choices/0/context/truncated_tokens").asInt());
        GenerationRequest sent = mode.seen.get(0);
        assertEquals(org.halyard.serving.api.ContextPolicy.of(org.halyard.serving.api.ContextPolicy.Overflow.SLIDE),
                sent.context());

        List<String> ev = events(run("{\"model\":\"m\",\"prompt\":\"" + longPrompt + "\",\"stream\":true,"
                + "\"context_policy\":{\"policy\":\"truncate\",\"window_tokens\":48}}", false));
        JsonNode closing = Json.MAPPER.readTree(ev.get(ev.size() - 2));
        assertEquals("stop", closing.at("/choices/0/finish_reason").asText());
        assertEquals("truncate", closing.at("/choices/0/context/policy").asText());
        assertEquals(48, mode.seen.get(1).context().windowTokens());
    }

    @Test
    void aMalformedContextPolicyIsRefusedNamingTheField() {
        ApiException e = assertThrows(ApiException.class,
                () -> run("{\"model\":\"m\",\"prompt\":\"hi\",\"context_policy\":\"forget\"}", false));
        assertTrue(e.getMessage().contains("reject, truncate or slide"), e.getMessage());
        e = assertThrows(ApiException.class, () -> run("{\"model\":\"m\",\"prompt\":\"hi\","
                + "\"context_policy\":{\"policy\":\"slide\",\"windw_tokens\":5}}", false));
        assertTrue(e.getMessage().contains("windw_tokens"), e.getMessage());
        // the default (the interactive mode's) reports nothing
        JsonNode none = assertDoesNotThrowJson("{\"model\":\"m\",\"prompt\":\"hi\"}");
        assertTrue(none.at("/choices/0/context").isMissingNode());
    }

    private JsonNode assertDoesNotThrowJson(String body) {
        try {
            return json(run(body, false));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
