package org.halyard.rest;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.ws.rs.WebApplicationException;
import org.halyard.rest.api.ApiException;
import org.halyard.rest.api.CallOptions;
import org.halyard.rest.api.Caller;
import org.halyard.rest.api.EndpointCall;
import org.halyard.rest.api.EndpointResponse;
import org.halyard.rest.api.OpenAiEndpoints;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link OpenAiEndpoints}: the completion and chat endpoints without HTTP, for the batch mode.
 * A body goes through the same validation, chat template, tokenization and admission as
 * {@code POST /v1/...} (the resources' own {@code prepare}), and the answer is the body the
 * endpoint would send; only streaming is refused.
 */
@Component(service = OpenAiEndpoints.class)
public class EndpointService implements OpenAiEndpoints {

    private static final Logger LOG = LoggerFactory.getLogger(EndpointService.class);
    private static final Set<String> ENDPOINTS = Set.of(COMPLETIONS, CHAT_COMPLETIONS);

    private final Access access;
    private final Generations generations;
    private final CompletionsResource completions;
    private final ChatCompletionsResource chat;

    @Activate
    public EndpointService(@Reference Access access, @Reference Generations generations,
            @Reference CompletionsResource completions, @Reference ChatCompletionsResource chat) {
        this.access = access;
        this.generations = generations;
        this.completions = completions;
        this.chat = chat;
    }

    @Override
    public Set<String> endpoints() {
        return ENDPOINTS;
    }

    @Override
    public EndpointCall call(String endpoint, String body, Caller caller, CallOptions options) {
        if (!ENDPOINTS.contains(endpoint)) {
            throw new IllegalArgumentException("not an endpoint of " + ENDPOINTS + ": " + endpoint);
        }
        java.time.Instant start = java.time.Instant.now();
        String model = null;
        try {
            Access.Config cfg = access.config();
            Params p = Params.parse(body, cfg.maxRequestBytes());
            model = p.string("model", null);
            Generations.Prepared prepared = endpoint.equals(COMPLETIONS) ? completions.prepare(p, cfg) : chat.prepare(p, cfg);
            if (prepared.params().stream()) {
                throw Params.invalid("stream", "'stream' must be false here: this request is not answered over a "
                        + "connection (a batch line's answer goes to the output file).");
            }
            return generations.start(prepared, caller, options.mode(), options.deadline(), options.attributes());
        } catch (ApiException e) {
            generations.refused(endpoint, caller, model, e, start);
            return done(Generations.response(e));
        } catch (WebApplicationException e) {
            return done(Generations.response(e));
        } catch (RuntimeException e) {
            LOG.warn("A request to {} failed before it ran", endpoint, e);
            return done(Generations.response(new ApiException(500, "Internal error; the server log has the details.")));
        }
    }

    private static EndpointCall done(EndpointResponse r) {
        CompletableFuture<EndpointResponse> f = CompletableFuture.completedFuture(r);
        return new EndpointCall() {
            @Override
            public CompletionStage<EndpointResponse> response() {
                return f.minimalCompletionStage();
            }

            @Override
            public void cancel() {
                // already answered
            }
        };
    }
}
