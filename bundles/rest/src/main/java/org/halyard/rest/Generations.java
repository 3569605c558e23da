package org.halyard.rest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.ws.rs.core.Response;
import javax.ws.rs.core.StreamingOutput;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.Model;
import org.halyard.rest.api.ApiError;
import org.halyard.rest.api.ApiException;
import org.halyard.rest.api.Caller;
import org.halyard.rest.api.EndpointCall;
import org.halyard.rest.api.EndpointResponse;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.ContextReport;
import org.halyard.serving.api.FinishReason;
import org.halyard.serving.api.GeneratedToken;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.LogitsProcessorFactory;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.ServingMode;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.Telemetry;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the generations of one API request through its serving mode and answers with JSON or a
 * stream of server-sent events. Shared by the completion and chat resources, which differ only
 * in the shape of what they write ({@link Flavor}).
 *
 * <p>Mode selection, for every mode: the request's {@code mode} field, else the API key's
 * default mode, else {@code defaultMode} of {@code etc/org.halyard.rest.cfg}
 * ({@code interactive}).
 *
 * <p>Threads: tokens arrive on the scheduler's thread and are only queued there; the HTTP
 * request thread writes them. A write that fails (the client went away) cancels every choice of
 * the request at once; while nothing is written a comment line is sent each second so that a
 * gone client is noticed even when its request waits.
 */
@Component(service = Generations.class)
public class Generations {

    private static final Logger LOG = LoggerFactory.getLogger(Generations.class);

    private final List<ServingMode> modes = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile Telemetry telemetry;

    /** A refusal by the serving mode's admission, which the mode has already reported. */
    static final class AdmissionRefused extends ApiException {
        private static final long serialVersionUID = 1L;

        AdmissionRefused(Response response, String message) {
            super(response, message);
        }
    }

    /**
     * Reports a request refused before it reached a serving mode (authentication, validation,
     * size): admission refusals are reported by the mode, finished requests by the scheduler.
     */
    void refused(String endpoint, Caller caller, String model, ApiException e, java.time.Instant start) {
        Telemetry t = telemetry;
        if (t == null || e instanceof AdmissionRefused) {
            return;
        }
        int status = e.getResponse() == null ? 500 : e.getResponse().getStatus();
        String code = e.getResponse() != null && e.getResponse().getEntity() instanceof ApiError.Envelope env
                && env.error().code() != null ? env.error().code() : "status_" + status;
        try {
            t.record(new RequestRecord(newId("refused-"), caller == null ? null : caller.tenant(), null, model,
                    endpoint, status >= 500 ? Outcome.ERROR : Outcome.REJECTED, code, status, 0, 0, 0, start,
                    java.time.Duration.ZERO, null, java.time.Duration.between(start, java.time.Instant.now()), List.of(),
                    null, null, Map.of()));
        } catch (RuntimeException ignored) {
            // telemetry never fails a request
        }
    }
    private final List<LogitsProcessorFactory> factories = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addMode(ServingMode mode) {
        modes.add(mode);
    }

    void removeMode(ServingMode mode) {
        modes.remove(mode);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addFactory(LogitsProcessorFactory f) {
        factories.add(f);
    }

    void removeFactory(LogitsProcessorFactory f) {
        factories.remove(f);
    }

    /** The serving mode a request goes to. */
    ServingMode mode(String requested, Caller caller, Access.Config config) {
        String name = requested != null && !requested.isBlank() ? requested
                : !caller.defaultMode().isEmpty() || config == null ? caller.defaultMode() : config.defaultMode();
        for (ServingMode m : modes) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        throw new ApiException(404, "The serving mode '" + name + "' is not available here; available: "
                + modes.stream().map(ServingMode::name).sorted().toList() + ".", "mode", "mode_not_found");
    }

    /** The names of the modes served now. */
    List<String> modeNames() {
        return modes.stream().map(ServingMode::name).sorted().toList();
    }

    /** What the two endpoints write. */
    interface Flavor {
        /** Chunks before the first token (chat: the assistant role), per choice. */
        List<Object> openingChunks(int choice);

        /** A chunk for one token of one choice. */
        Object tokenChunk(int choice, String text, GeneratedToken token);

        /** The last chunk of a choice. */
        Object closingChunk(int choice, String finishReason);

        /** The usage chunk (stream_options.include_usage). */
        Object usageChunk(Map<String, Object> usage);

        /** The whole JSON answer. */
        Object body(List<Choice> choices, Map<String, Object> usage);
    }

    /**
     * One finished choice.
     *
     * @param context the context report ({@link #contextReport}), or null when none is given
     */
    record Choice(int index, String text, String finishReason, List<GeneratedToken> tokens, int promptTokens,
            Map<String, Object> context) {
    }

    /** A submitted choice and what it has produced so far. */
    private static final class Running implements GenerationListener {
        final int index;
        final int promptTokens;
        final BlockingQueue<Object> events;
        final Runnable whenDone;
        final List<GeneratedToken> tokens = new ArrayList<>();
        GenerationHandle handle;
        volatile Completion completion;

        Running(int index, int promptTokens, BlockingQueue<Object> events, Runnable whenDone) {
            this.index = index;
            this.promptTokens = promptTokens;
            this.events = events;
            this.whenDone = whenDone;
        }

        @Override
        public void onToken(GeneratedToken token) {
            if (events == null) {
                tokens.add(token); // only the scheduler's thread touches the list until completion
            } else {
                events.add(new TokenEvent(this, token));
            }
        }

        @Override
        public void onComplete(Completion c) {
            completion = c;
            if (events != null) {
                events.add(new DoneEvent(this, c));
            } else if (whenDone != null) {
                whenDone.run();
            }
        }
    }

    private record TokenEvent(Running run, GeneratedToken token) {
    }

    private record DoneEvent(Running run, Completion completion) {
    }

    /**
     * A validated and tokenized request of one endpoint: what {@link #run} and {@link #start} run.
     *
     * @param prefixes per prompt, text the choices start with (echo), or null
     */
    record Prepared(String id, String endpoint, Model model, GenerationParams params, List<int[]> prompts,
            List<String> prefixes, Flavor flavor) {
    }

    /**
     * Submits one generation per prompt and choice and answers: JSON, or SSE when
     * {@code params.stream()}.
     */
    Response run(Prepared call, Caller caller, Access.Config config) {
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        List<Running> runs = new ArrayList<>();
        ServingMode mode = mode(call.params().mode(), caller, config);
        ContextPolicy.Overflow overflow = overflow(call.params(), caller, mode);
        boolean report = reportsContext(call.params(), caller, mode);
        submit(call, caller, mode, null, Map.of(), events, runs, null);
        if (call.params().stream()) {
            return Response.ok(stream(runs, events, call.params(), call.prefixes(), call.flavor(), report))
                    .type("text/event-stream; charset=utf-8").header("Cache-Control", "no-cache")
                    .header("X-Accel-Buffering", "no").header(CONTEXT_POLICY_HEADER, overflow.apiName()).build();
        }
        return Response.ok(collect(runs, events, call.params(), call.prefixes(), call.flavor(), report))
                .header(CONTEXT_POLICY_HEADER, overflow.apiName()).build();
    }

    /**
     * The context policy a request names: its own ({@code context_policy}), else its API key's;
     * null when neither does and the serving mode's applies.
     */
    static ContextPolicy namedContext(GenerationParams params, Caller caller) {
        return params.contextPolicy() != null ? params.contextPolicy() : caller.contextPolicy();
    }

    /** The context policy in force: the request's, else its API key's, else the serving mode's. */
    static ContextPolicy.Overflow overflow(GenerationParams params, Caller caller, ServingMode mode) {
        ContextPolicy named = namedContext(params, caller);
        return (named != null ? named : mode.contextPolicy()).overflow();
    }

    /** Whether choices carry a context report: when a policy was named, or is not REJECT. */
    static boolean reportsContext(GenerationParams params, Caller caller, ServingMode mode) {
        return namedContext(params, caller) != null || overflow(params, caller, mode) != ContextPolicy.Overflow.REJECT;
    }

    /** Kept for callers that prepare the parts themselves (tests). */
    Response run(String id, Caller caller, Access.Config config, String endpoint, Model model,
            GenerationParams params, List<int[]> prompts, List<String> prefixes, Flavor flavor) {
        return run(new Prepared(id, endpoint, model, params, prompts, prefixes, flavor), caller, config);
    }

    /**
     * Starts a prepared request without streaming and without a thread waiting for it (the batch
     * mode's lines): the returned call completes with the status and JSON body that the endpoint
     * would answer, errors included.
     *
     * @param mode the serving mode, over the body's
     */
    EndpointCall start(Prepared call, Caller caller, String mode, Instant deadline, Map<String, String> attributes) {
        ServingMode m = mode(mode, caller, null);
        List<Running> runs = new ArrayList<>();
        Started started = new Started(runs);
        AtomicInteger left = new AtomicInteger(call.prompts().size() * call.params().n());
        // the listener, not the handle, says a run is done: the handle completes before the
        // listener has its completion
        submit(call, caller, m, deadline, attributes, null, runs, () -> {
            if (left.decrementAndGet() == 0) {
                started.response.complete(answer(runs, call, reportsContext(call.params(), caller, m)));
            }
        });
        return started;
    }

    /** The JSON answer of finished runs, or the error the endpoint would send. */
    private EndpointResponse answer(List<Running> runs, Prepared call, boolean report) {
        try {
            List<Choice> choices = new ArrayList<>();
            for (Running r : runs) {
                Completion c = r.completion;
                failIfNotAnswered(c);
                String prefix = call.prefixes() == null ? "" : call.prefixes().get(r.index / call.params().n());
                choices.add(new Choice(r.index, prefix + c.text(), c.reason().openAi(), r.tokens, r.promptTokens,
                        report ? contextReport(c) : null));
            }
            choices.sort(Comparator.comparingInt(Choice::index));
            Object body = call.flavor().body(choices, usage(runs, call.params().n()));
            return new EndpointResponse(200, Json.MAPPER.writeValueAsString(body), null, null);
        } catch (ApiException e) {
            return response(e);
        } catch (IOException | RuntimeException e) {
            LOG.warn("Answering {} failed", call.id(), e);
            return response(new ApiException(500, "Internal error; the server log has the details."));
        }
    }

    /** An error as the endpoint would answer it. */
    static EndpointResponse response(javax.ws.rs.WebApplicationException e) {
        Response r = e.getResponse();
        int status = r == null ? 500 : r.getStatus();
        ApiError.Envelope env = r != null && r.getEntity() instanceof ApiError.Envelope en ? en
                : new ApiError.Envelope(new ApiError.Body(e.getMessage(), ApiError.type(status), null, null));
        String retry = r == null ? null : r.getHeaderString("Retry-After");
        java.time.Duration after = null;
        if (retry != null) {
            try {
                after = java.time.Duration.ofSeconds(Long.parseLong(retry.trim()));
            } catch (NumberFormatException ignored) {
                // not a number of seconds: no hint
            }
        }
        try {
            return new EndpointResponse(status, Json.MAPPER.writeValueAsString(env), after, env.error().code());
        } catch (IOException x) {
            throw new IllegalStateException(x);
        }
    }

    /** A request started by {@link #start}. */
    private static final class Started implements EndpointCall {
        final List<Running> runs;
        final CompletableFuture<EndpointResponse> response = new CompletableFuture<>();

        Started(List<Running> runs) {
            this.runs = runs;
        }

        @Override
        public CompletionStage<EndpointResponse> response() {
            return response.minimalCompletionStage();
        }

        @Override
        public void cancel() {
            runs.forEach(r -> r.handle.cancel());
        }
    }

    /**
     * Builds one generation per prompt and choice and submits them to the mode, all or none.
     *
     * @param events where the runs queue their tokens for a writing thread; null to keep them in
     *     the runs (no thread waits)
     * @param runs receives the runs, all of them before the first is submitted
     * @param whenDone called as each run completes when {@code events} is null
     */
    private void submit(Prepared call, Caller caller, ServingMode mode, Instant deadline,
            Map<String, String> attributes, BlockingQueue<Object> events, List<Running> runs, Runnable whenDone) {
        Model model = call.model();
        GenerationParams params = call.params();
        Flavor flavor = call.flavor();
        int ctx = model.info().contextLength();
        String modelName = model.info().name();
        int maxOut = mode.limits().maxOutputTokens();
        // context policy: the request's, else its API key's, else the mode's; only REJECT needs the
        // prompt and output to fit the context, so only then is it checked here, up front
        ContextPolicy named = namedContext(params, caller);
        boolean reject = overflow(params, caller, mode) == ContextPolicy.Overflow.REJECT;
        List<GenerationRequest> requests = new ArrayList<>();
        for (int p = 0; p < call.prompts().size(); p++) {
            int[] prompt = call.prompts().get(p);
            if (reject && prompt.length >= ctx) {
                throw new ApiException(400, "The prompt has " + prompt.length + " tokens; the model '" + modelName
                        + "' has a context of " + ctx + " tokens, which must also hold at least one output token. "
                        + "Shorten the prompt.", flavor instanceof ChatFlavor ? "messages" : "prompt", "context_length_exceeded");
            }
            int maxTokens;
            if (params.maxTokens() == null && !reject) {
                // past the context "the rest of the context" means nothing: a quarter of it for chat
                int room = ctx - prompt.length;
                maxTokens = flavor instanceof ChatFlavor ? Math.min(maxOut, room >= 16 ? room : Math.max(1, ctx / 4)) : 16;
            } else if (params.maxTokens() == null) {
                maxTokens = flavor instanceof ChatFlavor ? Math.min(ctx - prompt.length, maxOut) : Math.min(16, ctx - prompt.length);
            } else {
                maxTokens = params.maxTokens();
                if (reject && (long) prompt.length + maxTokens > ctx) {
                    throw new ApiException(400, "The prompt (" + prompt.length + " tokens) plus max_tokens ("
                            + maxTokens + ") exceeds the model's context of " + ctx + " tokens; set max_tokens to at "
                            + "most " + (ctx - prompt.length) + " or shorten the prompt.", "max_tokens",
                            "context_length_exceeded");
                }
            }
            for (int i = 0; i < params.n(); i++) {
                int index = p * params.n() + i;
                long seed = params.seed() == null ? ThreadLocalRandom.current().nextLong() : params.seed() + i;
                GenerationRequest.Builder b = GenerationRequest.builder(call.id() + "-" + index, modelName, prompt)
                        .tenant(caller.tenant()).quota(caller.quota()).criticality(params.criticality())
                        .maxTokens(maxTokens).sampling(params.sampling().withSeed(seed)).stop(params.stop())
                        .ignoreEos(params.ignoreEos()).deadline(deadline).context(named);
                Map<String, String> attrs = new java.util.HashMap<>(attributes);
                attrs.put("endpoint", call.endpoint());
                if (params.responseFormat() != null) {
                    attrs.put("response_format", params.responseFormat());
                }
                b.attributes(attrs);
                GenerationRequest r = b.build();
                List<LogitsProcessor> processors = processors(r, model);
                if (params.responseFormat() != null && processors.isEmpty()) {
                    throw new ApiException(400, "response_format " + params.responseFormat() + " needs constrained "
                            + "decoding, which no plugin on this server offers; leave 'response_format' out.",
                            "response_format", "unsupported");
                }
                if (!processors.isEmpty()) {
                    r = r.toBuilder().logitsProcessors(processors).build();
                }
                requests.add(r);
                runs.add(new Running(index, prompt.length, events, whenDone));
            }
        }
        // admission: all choices or none
        for (int k = 0; k < requests.size(); k++) {
            try {
                runs.get(k).handle = mode.submit(requests.get(k), runs.get(k));
            } catch (RejectedException e) {
                for (int j = 0; j < k; j++) {
                    runs.get(j).handle.cancel();
                }
                throw rejected(e);
            }
        }
    }

    private List<LogitsProcessor> processors(GenerationRequest r, Model model) {
        List<LogitsProcessor> out = new ArrayList<>();
        for (LogitsProcessorFactory f : factories) {
            try {
                Optional<LogitsProcessor> p = f.create(r, model);
                p.ifPresent(out::add);
            } catch (RejectedException e) {
                throw rejected(e);
            } catch (RuntimeException e) {
                LOG.warn("Logits processor factory {} failed", f.getClass().getName(), e);
                throw new ApiException(500, "A logits processor plugin failed; the server log has the details.");
            }
        }
        return out;
    }

    /** A rejection as the client sees it, with Retry-After where the scheduler gave one. */
    static ApiException rejected(RejectedException e) {
        // (an AdmissionRefused: the mode that refused has reported it)
        int status = e.reason().httpStatus();
        String code = switch (e.reason()) {
            case INVALID -> "invalid_value";
            case NOT_FOUND -> "not_found";
            case QUOTA -> "rate_limit_exceeded";
            case OVERLOAD -> "overloaded";
            case UNAVAILABLE -> "unavailable";
        };
        Response.ResponseBuilder b = Response.fromResponse(ApiError.response(status, e.getMessage(), null, code));
        e.retryAfter().ifPresent(d -> b.header("Retry-After", Long.toString(Math.max(1, d.toSeconds()))));
        return new AdmissionRefused(b.build(), e.getMessage());
    }

    /** Response header: the context policy in force ({@code reject}, {@code truncate}, {@code slide}). */
    static final String CONTEXT_POLICY_HEADER = "Halyard-Context-Policy";

    /**
     * How a choice's context was handled, as the response reports it (Halyard's extension
     * {@code context} in each choice): the policy, prompt tokens truncated, tokens evicted from
     * the sliding window, and the window.
     */
    static Map<String, Object> contextReport(Completion c) {
        ContextReport r = c.context();
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("policy", r.policy().apiName());
        m.put("truncated_tokens", r.truncatedTokens());
        m.put("evicted_tokens", r.evictedTokens());
        m.put("window_tokens", r.windowTokens());
        return m;
    }

    /** A streamed chunk with the choice's context report added to its (only) choice. */
    @SuppressWarnings("unchecked")
    private static Object withContext(Object chunk, Completion c) {
        if (chunk instanceof Map<?, ?> m && m.get("choices") instanceof List<?> l && l.size() == 1
                && l.get(0) instanceof Map<?, ?> choice) {
            ((Map<String, Object>) choice).put("context", contextReport(c));
        }
        return chunk;
    }

    /** Waits for every choice and answers with one JSON body. */
    private Object collect(List<Running> runs, BlockingQueue<Object> events, GenerationParams params,
            List<String> prefixes, Flavor flavor, boolean report) {
        int left = runs.size();
        try {
            while (left > 0) {
                Object e = events.take();
                if (e instanceof TokenEvent t) {
                    t.run().tokens.add(t.token());
                } else if (e instanceof DoneEvent) {
                    left--;
                }
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            runs.forEach(r -> r.handle.cancel());
            throw new ApiException(503, "The server is shutting down; retry.");
        }
        List<Choice> choices = new ArrayList<>();
        for (Running r : runs) {
            Completion c = r.completion;
            failIfNotAnswered(c);
            String prefix = prefixes == null ? "" : prefixes.get(r.index / params.n());
            choices.add(new Choice(r.index, prefix + c.text(), c.reason().openAi(), r.tokens, r.promptTokens,
                    report ? contextReport(c) : null));
        }
        choices.sort(Comparator.comparingInt(Choice::index));
        return flavor.body(choices, usage(runs, params.n()));
    }

    private static void failIfNotAnswered(Completion c) {
        switch (c.reason()) {
            case STOP, LENGTH, CONTENT_FILTER -> {
            }
            case DEADLINE -> throw new ApiException(504, "The request did not finish before its deadline ("
                    + c.totalTime().toSeconds() + " s); lower max_tokens or retry when the server is less busy.",
                    null, "deadline_exceeded");
            case CANCELLED -> throw new ApiException(503, "The request was cancelled on the server; retry.", null,
                    "cancelled");
            case ERROR -> throw new ApiException(500, "Generation failed: " + c.error().orElse("unknown error"), null,
                    "generation_failed");
        }
    }

    /** Usage over all choices: prompts counted once each. */
    private static Map<String, Object> usage(List<Running> runs, int n) {
        int prompt = 0;
        int completion = 0;
        int cached = 0;
        for (Running r : runs) {
            Completion c = r.completion;
            if (r.index % n == 0) {
                prompt += r.promptTokens;
                cached += c == null ? 0 : c.usage().cachedTokens();
            }
            completion += c == null ? r.tokens.size() : c.usage().completionTokens();
        }
        Map<String, Object> u = new java.util.LinkedHashMap<>();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        if (cached > 0) {
            u.put("prompt_tokens_details", Map.of("cached_tokens", cached));
        }
        return u;
    }

    /** Streams the choices as server-sent events, ending with {@code data: [DONE]}. */
    private StreamingOutput stream(List<Running> runs, BlockingQueue<Object> events, GenerationParams params,
            List<String> prefixes, Flavor flavor, boolean report) {
        return out -> {
            boolean complete = false;
            try {
                for (Running r : runs) {
                    for (Object c : flavor.openingChunks(r.index)) {
                        send(out, c);
                    }
                    if (prefixes != null) {
                        String prefix = prefixes.get(r.index / params.n());
                        if (!prefix.isEmpty()) {
                            send(out, flavor.tokenChunk(r.index, prefix, null));
                        }
                    }
                }
                out.flush();
                int left = runs.size();
                List<Object> batch = new ArrayList<>();
                while (left > 0) {
                    Object first = events.poll(1, TimeUnit.SECONDS);
                    if (first == null) {
                        out.write(": waiting\n\n".getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        continue;
                    }
                    batch.clear();
                    batch.add(first);
                    events.drainTo(batch);
                    for (Object e : batch) {
                        if (e instanceof TokenEvent t) {
                            t.run().tokens.add(t.token());
                            if (!t.token().text().isEmpty() || params.logprobs() >= 0) {
                                send(out, flavor.tokenChunk(t.run().index, t.token().text(), t.token()));
                            }
                        } else if (e instanceof DoneEvent d) {
                            left--;
                            Completion c = d.completion();
                            switch (c.reason()) {
                                case STOP, LENGTH, CONTENT_FILTER -> {
                                    Object closing = flavor.closingChunk(d.run().index, c.reason().openAi());
                                    send(out, report ? withContext(closing, c) : closing);
                                }
                                default -> send(out, errorEvent(c));
                            }
                        }
                    }
                    out.flush();
                }
                if (params.includeUsage()) {
                    send(out, flavor.usageChunk(usage(runs, params.n())));
                }
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                complete = true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (!complete) {
                    // the client went away (a write failed) or the server is stopping
                    runs.forEach(r -> r.handle.cancel());
                }
            }
        };
    }

    private static Object errorEvent(Completion c) {
        int status = c.reason() == FinishReason.DEADLINE ? 504 : c.reason() == FinishReason.CANCELLED ? 503 : 500;
        String message = switch (c.reason()) {
            case DEADLINE -> "The request did not finish before its deadline; lower max_tokens or retry later.";
            case CANCELLED -> "The request was cancelled on the server; retry.";
            default -> "Generation failed: " + c.error().orElse("unknown error");
        };
        return new ApiError.Envelope(new ApiError.Body(message, ApiError.type(status), null,
                c.reason().openAi()));
    }

    private static void send(OutputStream out, Object chunk) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.UTF_8));
        out.write(Json.MAPPER.writeValueAsBytes(chunk));
        out.write("\n\n".getBytes(StandardCharsets.UTF_8));
    }

    /** A new response id with the given prefix. */
    static String newId(String prefix) {
        UUID u = UUID.randomUUID();
        return prefix + Long.toHexString(u.getMostSignificantBits()) + Long.toHexString(u.getLeastSignificantBits());
    }

    static long now() {
        return System.currentTimeMillis() / 1000;
    }

    /** Chat completions: {@code chat.completion} and {@code chat.completion.chunk} objects. */
    static final class ChatFlavor implements Flavor {
        private final String id;
        private final String model;
        private final long created = now();
        private final TokenText tokens;
        private final boolean logprobs;

        ChatFlavor(String id, String model, TokenText tokens, boolean logprobs) {
            this.id = id;
            this.model = model;
            this.tokens = tokens;
            this.logprobs = logprobs;
        }

        private Map<String, Object> chunk(List<Object> choices) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("id", id);
            m.put("object", "chat.completion.chunk");
            m.put("created", created);
            m.put("model", model);
            m.put("choices", choices);
            return m;
        }

        private static Map<String, Object> choice(int index, Map<String, Object> delta, Object logprobs, String finish) {
            Map<String, Object> c = new java.util.LinkedHashMap<>();
            c.put("index", index);
            c.put("delta", delta);
            c.put("logprobs", logprobs);
            c.put("finish_reason", finish);
            return c;
        }

        @Override
        public List<Object> openingChunks(int choice) {
            Map<String, Object> delta = new java.util.LinkedHashMap<>();
            delta.put("role", "assistant");
            delta.put("content", "");
            return List.of(chunk(List.of(choice(choice, delta, null, null))));
        }

        @Override
        public Object tokenChunk(int choice, String text, GeneratedToken token) {
            Object lp = logprobs && token != null ? Map.of("content", List.of(tokens.chatLogprob(token))) : null;
            return chunk(List.of(choice(choice, Map.of("content", text), lp, null)));
        }

        @Override
        public Object closingChunk(int choice, String finishReason) {
            return chunk(List.of(choice(choice, Map.of(), null, finishReason)));
        }

        @Override
        public Object usageChunk(Map<String, Object> usage) {
            Map<String, Object> m = chunk(List.of());
            m.put("usage", usage);
            return m;
        }

        @Override
        public Object body(List<Choice> choices, Map<String, Object> usage) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("id", id);
            m.put("object", "chat.completion");
            m.put("created", created);
            m.put("model", model);
            List<Object> list = new ArrayList<>();
            for (Choice c : choices) {
                Map<String, Object> ch = new java.util.LinkedHashMap<>();
                ch.put("index", c.index());
                Map<String, Object> msg = new java.util.LinkedHashMap<>();
                msg.put("role", "assistant");
                msg.put("content", c.text());
                ch.put("message", msg);
                ch.put("logprobs", logprobs ? Map.of("content", c.tokens().stream().map(tokens::chatLogprob).toList())
                        : null);
                ch.put("finish_reason", c.finishReason());
                if (c.context() != null) {
                    ch.put("context", c.context());
                }
                list.add(ch);
            }
            m.put("choices", list);
            m.put("usage", usage);
            return m;
        }
    }

    /** Completions: {@code text_completion} objects. */
    static final class CompletionFlavor implements Flavor {
        private final String id;
        private final String model;
        private final long created = now();
        private final TokenText tokens;
        private final boolean logprobs;

        CompletionFlavor(String id, String model, TokenText tokens, boolean logprobs) {
            this.id = id;
            this.model = model;
            this.tokens = tokens;
            this.logprobs = logprobs;
        }

        private Map<String, Object> object(List<Object> choices) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("id", id);
            m.put("object", "text_completion");
            m.put("created", created);
            m.put("model", model);
            m.put("choices", choices);
            return m;
        }

        private static Map<String, Object> choice(int index, String text, Object logprobs, String finish) {
            Map<String, Object> c = new java.util.LinkedHashMap<>();
            c.put("index", index);
            c.put("text", text);
            c.put("logprobs", logprobs);
            c.put("finish_reason", finish);
            return c;
        }

        @Override
        public List<Object> openingChunks(int choice) {
            return List.of();
        }

        @Override
        public Object tokenChunk(int choice, String text, GeneratedToken token) {
            Object lp = logprobs && token != null ? tokens.completionLogprobs(List.of(token), 0) : null;
            return object(List.of(choice(choice, text, lp, null)));
        }

        @Override
        public Object closingChunk(int choice, String finishReason) {
            return object(List.of(choice(choice, "", null, finishReason)));
        }

        @Override
        public Object usageChunk(Map<String, Object> usage) {
            Map<String, Object> m = object(List.of());
            m.put("usage", usage);
            return m;
        }

        @Override
        public Object body(List<Choice> choices, Map<String, Object> usage) {
            List<Object> list = new ArrayList<>();
            for (Choice c : choices) {
                Map<String, Object> ch = choice(c.index(), c.text(), logprobs ? tokens.completionLogprobs(c.tokens(), 0)
                        : null, c.finishReason());
                if (c.context() != null) {
                    ch.put("context", c.context());
                }
                list.add(ch);
            }
            Map<String, Object> m = object(list);
            m.put("usage", usage);
            return m;
        }
    }

    /** Token ids to the strings and bytes OpenAI's logprobs objects carry. */
    static final class TokenText {
        private final org.halyard.engine.api.Tokenizer tokenizer;

        TokenText(org.halyard.engine.api.Tokenizer tokenizer) {
            this.tokenizer = tokenizer;
        }

        /** The token's text as it appears in the output (with its leading space); control tokens by name. */
        String text(int token) {
            byte[] b = tokenizer.tokenBytes(token);
            return b.length == 0 ? tokenizer.tokenText(token) : new String(b, java.nio.charset.StandardCharsets.UTF_8);
        }

        List<Integer> bytes(int token) {
            byte[] b = tokenizer.tokenBytes(token);
            List<Integer> out = new ArrayList<>(b.length);
            for (byte x : b) {
                out.add(x & 0xff);
            }
            return out;
        }

        Map<String, Object> chatLogprob(GeneratedToken t) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("token", text(t.token()));
            m.put("logprob", t.logprob());
            m.put("bytes", bytes(t.token()));
            List<Object> top = new ArrayList<>();
            for (var alt : t.top()) {
                Map<String, Object> a = new java.util.LinkedHashMap<>();
                a.put("token", text(alt.token()));
                a.put("logprob", alt.logprob());
                a.put("bytes", bytes(alt.token()));
                top.add(a);
            }
            m.put("top_logprobs", top);
            return m;
        }

        Map<String, Object> completionLogprobs(List<GeneratedToken> list, int offset) {
            List<String> toks = new ArrayList<>();
            List<Float> lps = new ArrayList<>();
            List<Object> tops = new ArrayList<>();
            List<Integer> offsets = new ArrayList<>();
            int at = offset;
            for (GeneratedToken t : list) {
                String s = text(t.token());
                toks.add(s);
                lps.add(t.logprob());
                Map<String, Float> ordered = new java.util.LinkedHashMap<>();
                for (var alt : t.top()) {
                    ordered.putIfAbsent(text(alt.token()), alt.logprob());
                }
                tops.add(ordered);
                offsets.add(at);
                at += t.text().length();
            }
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("tokens", toks);
            m.put("token_logprobs", lps);
            m.put("top_logprobs", tops);
            m.put("text_offset", offsets);
            return m;
        }
    }
}
