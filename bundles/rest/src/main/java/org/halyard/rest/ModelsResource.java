package org.halyard.rest;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;
import org.halyard.engine.api.ModelInfo;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

/** {@code GET /v1/models} and {@code GET /v1/models/{id}}, as OpenAI answers them. */
@Component(service = ModelsResource.class)
@JaxrsResource
@JSONRequired
@Path("v1/models")
@Produces(MediaType.APPLICATION_JSON)
public class ModelsResource {

    private final ModelDirectory models;
    private final Access access;
    private final long started = System.currentTimeMillis() / 1000;

    @org.osgi.service.component.annotations.Activate
    public ModelsResource(@Reference ModelDirectory models, @Reference Access access) {
        this.models = models;
        this.access = access;
    }

    @GET
    public Map<String, Object> list(@javax.ws.rs.core.Context javax.ws.rs.core.HttpHeaders headers) {
        access.authenticate(headers, Caller.USER);
        List<Map<String, Object>> data = models.all().stream().map(e -> describe(e.model().info())).toList();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "list");
        m.put("data", data);
        return m;
    }

    @GET
    @Path("{id}")
    public Map<String, Object> get(@PathParam("id") String id,
            @javax.ws.rs.core.Context javax.ws.rs.core.HttpHeaders headers) {
        access.authenticate(headers, Caller.USER);
        return models.find(id).map(m -> describe(m.info())).orElseThrow(() -> new ApiException(404,
                "The model '" + id + "' does not exist; GET /v1/models lists the models served here.",
                "model", "model_not_found"));
    }

    private Map<String, Object> describe(ModelInfo info) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", info.name());
        m.put("object", "model");
        m.put("created", started);
        m.put("owned_by", "halyard");
        m.put("max_model_len", info.contextLength());
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("version", info.version());
        h.put("architecture", info.architecture());
        h.put("format", info.format());
        h.put("weight_type", info.weightType());
        h.put("parameters", info.parameters());
        h.put("vocab_size", info.vocabSize());
        h.put("layers", info.layers());
        h.put("experts", info.experts());
        h.put("experts_used", info.expertsUsed());
        m.put("halyard", h);
        return m;
    }
}
