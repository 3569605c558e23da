package org.halyard.rest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /health} (liveness: 200 unless a component is DOWN) and {@code GET /ready}
 * (readiness: 200 when every component takes traffic and at least one model is served), from
 * every {@link HealthContributor} service.
 */
@Component(service = HealthResource.class)
@JaxrsResource
@JSONRequired
@Path("")
@Produces(MediaType.APPLICATION_JSON)
public class HealthResource {

    private static final Logger LOG = LoggerFactory.getLogger(HealthResource.class);

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private final List<HealthContributor> contributors = new CopyOnWriteArrayList<>();

    @Reference
    private ModelDirectory models;

    @GET
    @Path("health")
    public Response health() {
        List<Health> all = collect();
        Health.Status worst = all.stream().map(Health::status).max(Enum::compareTo).orElse(Health.Status.UP);
        return Response.status(worst == Health.Status.DOWN ? 503 : 200).entity(body(worst.name(), all)).build();
    }

    @GET
    @Path("ready")
    public Response ready() {
        List<Health> all = collect();
        boolean ready = all.stream().allMatch(Health::ready) && !models.all().isEmpty();
        return Response.status(ready ? 200 : 503).entity(body(ready ? "READY" : "NOT_READY", all)).build();
    }

    private List<Health> collect() {
        List<Health> all = new ArrayList<>();
        for (HealthContributor c : contributors) {
            try {
                all.addAll(c.health());
            } catch (RuntimeException e) {
                LOG.warn("Health contributor {} failed", c.getClass().getName(), e);
                all.add(Health.down(c.getClass().getName(), "health check failed: " + e));
            }
        }
        return all;
    }

    private static Map<String, Object> body(String status, List<Health> all) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status);
        List<Map<String, Object>> components = new ArrayList<>();
        for (Health h : all) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("component", h.component());
            c.put("status", h.status().name());
            c.put("ready", h.ready());
            c.put("detail", h.detail());
            if (!h.attributes().isEmpty()) {
                c.put("attributes", h.attributes());
            }
            components.add(c);
        }
        m.put("components", components);
        return m;
    }
}
