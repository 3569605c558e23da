package org.halyard.rest;

import java.io.InputStream;
import java.util.Map;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import org.halyard.engine.api.Model;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

/** {@code POST /detokenize}: token ids back to text, as vLLM offers it ({@code {"prompt": ...}}). */
@Component(service = DetokenizeResource.class)
@JaxrsResource
@JSONRequired
@Path("detokenize")
public class DetokenizeResource {

    private final Access access;
    private final ModelDirectory models;

    @Activate
    public DetokenizeResource(@Reference Access access, @Reference ModelDirectory models) {
        this.access = access;
        this.models = models;
    }

    @POST
    public Map<String, Object> detokenize(InputStream body, @Context HttpHeaders headers) {
        access.authenticate(headers, Caller.USER);
        Params p = Params.read(body, headers, access.config().maxRequestBytes());
        Model model = models.require(p.requiredString("model"));
        if (!p.has("tokens") || !p.node("tokens").isArray()) {
            throw Params.invalid("tokens", "'tokens' is required: an array of token ids.");
        }
        int[] ids = p.node("tokens").isEmpty() ? new int[0]
                : CompletionsResource.ids(p.node("tokens"), "tokens", model.tokenizer());
        return Map.of("prompt", model.tokenizer().decode(ids, p.bool("skip_special_tokens", false)));
    }
}
