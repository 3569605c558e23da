package org.halyard.mode.batch;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.ws.rs.GET;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.MediaType;
import org.halyard.rest.api.ApiAccess;
import org.halyard.rest.api.ApiException;
import org.halyard.rest.api.Caller;
import org.halyard.rest.api.OpenAiEndpoints;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

/**
 * OpenAI's Batch API: {@code POST /v1/batches}, {@code GET /v1/batches},
 * {@code GET /v1/batches/{id}}, {@code POST /v1/batches/{id}/cancel}. Callers see their own
 * batches (admins every batch).
 */
@Component(service = BatchesResource.class)
@JaxrsResource
@JSONRequired
@Path("v1/batches")
@Produces(MediaType.APPLICATION_JSON)
public class BatchesResource {

    /** The endpoints a batch may target. */
    static final Set<String> ENDPOINTS = Set.of(OpenAiEndpoints.CHAT_COMPLETIONS, OpenAiEndpoints.COMPLETIONS);

    private static final int MAX_BODY_BYTES = 64 * 1024;

    private final ApiAccess access;
    private final BatchJobs mode;

    @Activate
    public BatchesResource(@Reference ApiAccess access, @Reference BatchJobs mode) {
        this.access = access;
        this.mode = mode;
    }

    @POST
    public Map<String, Object> create(InputStream body, @Context HttpHeaders headers) throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        byte[] bytes = body.readNBytes(MAX_BODY_BYTES + 1);
        if (bytes.length > MAX_BODY_BYTES) {
            throw new ApiException(413, "The request body is larger than " + MAX_BODY_BYTES + " bytes.", null,
                    "request_too_large");
        }
        JsonNode req;
        try {
            req = Jsonl.MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            throw new ApiException(400, "The request body is not valid JSON: " + e.getOriginalMessage(), null,
                    "invalid_json");
        }
        if (req == null || !req.isObject()) {
            throw new ApiException(400, "The request body must be a JSON object with input_file_id, endpoint and "
                    + "completion_window.", null, "invalid_json");
        }
        String input = text(req, "input_file_id");
        String endpoint = text(req, "endpoint");
        String window = text(req, "completion_window");
        if (!ENDPOINTS.contains(endpoint)) {
            throw ApiException.invalid("endpoint", "endpoint must be one of " + ENDPOINTS.stream().sorted().toList()
                    + " on this server; '" + endpoint + "' is not served in batches.");
        }
        JsonNode metadata = req.get("metadata");
        if (metadata != null && !metadata.isNull()) {
            checkMetadata(metadata);
        }
        return Shapes.batch(mode.create(caller, input, endpoint, window, metadata));
    }

    private static String text(JsonNode req, String field) {
        JsonNode n = req.get(field);
        if (n == null || n.isNull()) {
            throw new ApiException(400, "'" + field + "' is required.", field, "missing_required_parameter");
        }
        if (!n.isTextual() || n.textValue().isBlank()) {
            throw ApiException.invalid(field, "'" + field + "' must be a non-empty string.");
        }
        return n.textValue();
    }

    /** OpenAI's rule: at most 16 pairs, keys up to 64 characters, values up to 512, strings. */
    private static void checkMetadata(JsonNode m) {
        if (!m.isObject() || m.size() > 16) {
            throw ApiException.invalid("metadata", "metadata must be an object of at most 16 string values.");
        }
        Iterator<Map.Entry<String, JsonNode>> it = m.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().length() > 64 || !e.getValue().isTextual() || e.getValue().textValue().length() > 512) {
                throw ApiException.invalid("metadata", "metadata keys must be at most 64 characters and values strings "
                        + "of at most 512; '" + e.getKey() + "' is not.");
            }
        }
    }

    @GET
    public Map<String, Object> list(@QueryParam("limit") Integer limit, @QueryParam("after") String after,
            @Context HttpHeaders headers) throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        int n = limit == null ? 20 : limit;
        if (n < 1 || n > 100) {
            throw ApiException.invalid("limit", "limit must be from 1 to 100.");
        }
        List<BatchRecord> batches = mode.batches(caller, after, n + 1);
        List<Map<String, Object>> data = new ArrayList<>();
        for (int i = 0; i < Math.min(n, batches.size()); i++) {
            data.add(Shapes.batch(batches.get(i)));
        }
        return Shapes.list(data, batches.size() > n);
    }

    @GET
    @Path("{id}")
    public Map<String, Object> retrieve(@PathParam("id") String id, @Context HttpHeaders headers) throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        return Shapes.batch(mode.batch(caller, id));
    }

    @POST
    @Path("{id}/cancel")
    public Map<String, Object> cancel(@PathParam("id") String id, @Context HttpHeaders headers) throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        return Shapes.batch(mode.cancel(caller, id));
    }
}
