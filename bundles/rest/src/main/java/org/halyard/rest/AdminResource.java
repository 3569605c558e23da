package org.halyard.rest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.MediaType;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Scheduler;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

/** Admin endpoints (role {@code admin}): {@code GET /admin/requests}, the requests running and queued. */
@Component(service = AdminResource.class)
@JaxrsResource
@JSONRequired
@Path("admin")
@Produces(MediaType.APPLICATION_JSON)
public class AdminResource {

    private final Access access;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile Scheduler scheduler;

    @Activate
    public AdminResource(@Reference Access access) {
        this.access = access;
    }

    @GET
    @Path("requests")
    public Map<String, Object> requests(@Context HttpHeaders headers) {
        access.authenticate(headers, Caller.ADMIN);
        Scheduler s = scheduler;
        if (s == null) {
            throw new ApiException(503, "No scheduler is running.");
        }
        List<Object> data = new ArrayList<>();
        for (RequestStatus r : s.requests()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.requestId());
            m.put("model", r.model());
            m.put("mode", r.mode());
            m.put("priority", r.priority().name().toLowerCase());
            m.put("state", r.state().name().toLowerCase());
            m.put("prompt_tokens", r.promptTokens());
            m.put("computed_tokens", r.computedTokens());
            m.put("output_tokens", r.outputTokens());
            m.put("age_ms", r.age().toMillis());
            data.add(m);
        }
        return Map.of("object", "list", "data", data);
    }
}
