package org.halyard.rest;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.Response;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.Tokenizer;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

/**
 * {@code POST /v1/completions}: a prompt (a string, strings, token ids, or lists of token ids)
 * continued through the selected serving mode, as JSON or as {@code text_completion} events.
 * Prompt text is tokenized with the model's BOS and with special-token text kept as plain text.
 */
@Component(service = CompletionsResource.class)
@JaxrsResource
@JSONRequired
@Path("v1/completions")
public class CompletionsResource {

    private final Access access;
    private final ModelDirectory models;
    private final Generations generations;

    @Activate
    public CompletionsResource(@Reference Access access, @Reference ModelDirectory models,
            @Reference Generations generations) {
        this.access = access;
        this.models = models;
        this.generations = generations;
    }

    @POST
    public Response create(InputStream body, @Context HttpHeaders headers) {
        java.time.Instant start = java.time.Instant.now();
        Caller caller = null;
        String modelName = null;
        try {
            caller = access.authenticate(headers, Caller.USER);
            Access.Config cfg = access.config();
            Params p = Params.read(body, headers, cfg.maxRequestBytes());
            modelName = p.requiredString("model");
            Model model = models.require(modelName);
            Tokenizer tok = model.tokenizer();
            List<int[]> prompts = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            prompts(p, tok, cfg.maxPrompts(), prompts, texts);
            GenerationParams params = GenerationParams.parse(p, model, cfg, false);
            boolean echo = p.bool("echo", false);
            String id = Generations.newId("cmpl-");
            return generations.run(id, caller, cfg, "/v1/completions", model, params, prompts, echo ? texts : null,
                    new Generations.CompletionFlavor(id, model.info().name(), new Generations.TokenText(tok),
                            params.logprobs() >= 0));
        } catch (ApiException e) {
            generations.refused("/v1/completions", caller, modelName, e, start);
            throw e;
        }
    }

    static void prompts(Params p, Tokenizer tok, int max, List<int[]> prompts, List<String> texts) {
        JsonNode n = p.node("prompt");
        if (n == null) {
            throw Params.invalid("prompt", "'prompt' is required: a string, an array of strings, or token ids.");
        }
        if (n.isTextual()) {
            add(tok, n.textValue(), prompts, texts);
        } else if (n.isArray() && !n.isEmpty() && n.get(0).isIntegralNumber()) {
            prompts.add(ids(n, "prompt", tok));
            texts.add(tok.decode(prompts.get(0), false));
        } else if (n.isArray() && !n.isEmpty()) {
            for (int i = 0; i < n.size(); i++) {
                JsonNode e = n.get(i);
                if (e.isTextual()) {
                    add(tok, e.textValue(), prompts, texts);
                } else if (e.isArray()) {
                    int[] ids = ids(e, "prompt[" + i + "]", tok);
                    prompts.add(ids);
                    texts.add(tok.decode(ids, false));
                } else {
                    throw Params.invalid("prompt[" + i + "]", "'prompt[" + i + "]' must be a string or an array of token ids.");
                }
            }
        } else {
            throw Params.invalid("prompt", "'prompt' must be a string, an array of strings, or token ids"
                    + (n.isArray() ? "; it is an empty array." : "."));
        }
        if (prompts.size() > max) {
            throw Params.invalid("prompt", "At most " + max + " prompts per request; got " + prompts.size() + ".");
        }
    }

    private static void add(Tokenizer tok, String text, List<int[]> prompts, List<String> texts) {
        prompts.add(tok.encode(text, true, false));
        texts.add(text);
    }

    static int[] ids(JsonNode arr, String field, Tokenizer tok) {
        if (arr.isEmpty()) {
            throw Params.invalid(field, "'" + field + "' must not be an empty list of token ids.");
        }
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode e = arr.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.intValue() < 0 || e.intValue() >= tok.vocabSize()) {
                throw Params.invalid(field, "'" + field + "' holds " + e + " at " + i + ", which is not a token id of "
                        + "this model (0 to " + (tok.vocabSize() - 1) + ").");
            }
            ids[i] = e.intValue();
        }
        return ids;
    }
}
