package org.halyard.rest;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.Tokenizer;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

/**
 * {@code POST /tokenize}, as vLLM and llama-server offer it: a {@code prompt} (or llama-server's
 * {@code content}) or chat {@code messages} to token ids, with the count and the model's context.
 */
@Component(service = TokenizeResource.class)
@JaxrsResource
@JSONRequired
@Path("tokenize")
public class TokenizeResource {

    private final Access access;
    private final ModelDirectory models;
    private final ChatCompletionsResource chat;

    @Activate
    public TokenizeResource(@Reference Access access, @Reference ModelDirectory models,
            @Reference ChatCompletionsResource chat) {
        this.access = access;
        this.models = models;
        this.chat = chat;
    }

    @POST
    public Map<String, Object> tokenize(InputStream body, @Context HttpHeaders headers) {
        access.authenticate(headers, Caller.USER);
        Params p = Params.read(body, headers, access.config().maxRequestBytes());
        Model model = models.require(p.requiredString("model"));
        Tokenizer tok = model.tokenizer();
        int[] ids;
        if (p.has("messages")) {
            ids = chat.prompt(p, model);
        } else {
            String text = p.has("prompt") ? p.string("prompt", "") : p.string("content", null);
            if (text == null) {
                throw Params.invalid("prompt", "'prompt' (a string) or 'messages' is required.");
            }
            ids = tok.encode(text, p.bool("add_special_tokens", true) && tok.addsBos(), false);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", ids.length);
        m.put("max_model_len", model.info().contextLength());
        m.put("tokens", ids);
        if (p.bool("return_token_strs", false)) {
            List<String> strs = new ArrayList<>();
            for (int id : ids) {
                strs.add(tok.tokenText(id));
            }
            m.put("token_strs", strs);
        }
        return m;
    }
}
