package org.halyard.rest;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * {@code POST /v1/chat/completions}: the conversation is rendered with the model's chat template,
 * tokenized (special tokens in the rendered text become their ids) and generated through the
 * selected serving mode, as JSON or as {@code chat.completion.chunk} events.
 */
@Component(service = ChatCompletionsResource.class)
@JaxrsResource
@JSONRequired
@Path("v1/chat/completions")
public class ChatCompletionsResource {

    static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    private final Access access;
    private final ModelDirectory models;
    private final Generations generations;
    private final ChatTemplate templates = new ChatTemplate();

    @Activate
    public ChatCompletionsResource(@Reference Access access, @Reference ModelDirectory models,
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
            int[] prompt = prompt(p, model);
            GenerationParams params = GenerationParams.parse(p, model, cfg, true);
            String id = Generations.newId("chatcmpl-");
            return generations.run(id, caller, cfg, "/v1/chat/completions", model, params, List.of(prompt), null,
                    new Generations.ChatFlavor(id, model.info().name(), new Generations.TokenText(model.tokenizer()),
                            params.logprobs() >= 0));
        } catch (ApiException e) {
            generations.refused("/v1/chat/completions", caller, modelName, e, start);
            throw e;
        }
    }

    /** The rendered and tokenized conversation. */
    int[] prompt(Params p, Model model) {
        List<Map<String, Object>> messages = messages(p);
        String template = model.chatTemplate().orElseThrow(() -> new ApiException(400, "The model '"
                + model.info().name() + "' has no chat template; use /v1/completions with a plain prompt.",
                "model", "no_chat_template"));
        Tokenizer tok = model.tokenizer();
        String rendered;
        try {
            rendered = templates.render(template, messages, p.bool("add_generation_prompt", true),
                    tok.bos() >= 0 ? tok.tokenText(tok.bos()) : "",
                    tok.eos().length > 0 ? tok.tokenText(tok.eos()[0]) : "");
        } catch (ChatTemplate.TemplateException e) {
            throw Params.invalid("messages", "The model's chat template does not accept these messages: "
                    + e.getMessage());
        }
        return tok.encode(rendered, false, true);
    }

    static List<Map<String, Object>> messages(Params p) {
        JsonNode msgs = p.node("messages");
        if (msgs == null) {
            throw Params.invalid("messages", "'messages' is required: an array of {\"role\", \"content\"} objects.");
        }
        if (!msgs.isArray() || msgs.isEmpty()) {
            throw Params.invalid("messages", "'messages' must be a non-empty array of {\"role\", \"content\"} objects.");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw Params.invalid(where, "'" + where + "' must be an object with 'role' and 'content'.");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.textValue())) {
                throw Params.invalid(where + ".role", "'" + where + ".role' must be one of " + ROLES + ".");
            }
            Map<String, Object> msg = new LinkedHashMap<>();
            msg.put("role", role.textValue());
            msg.put("content", content(m.get("content"), where + ".content"));
            JsonNode name = m.get("name");
            if (name != null && name.isTextual()) {
                msg.put("name", name.textValue());
            }
            out.add(msg);
        }
        return out;
    }

    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.textValue();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw Params.invalid(where, "'" + where + "' parts must be {\"type\": \"text\", \"text\": ...}; "
                            + "this model reads text only.");
                }
                sb.append(part.get("text").textValue());
            }
            return sb.toString();
        }
        throw Params.invalid(where, "'" + where + "' must be a string or an array of text parts.");
    }
}
