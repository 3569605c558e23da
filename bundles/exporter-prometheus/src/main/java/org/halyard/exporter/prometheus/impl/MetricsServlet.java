package org.halyard.exporter.prometheus.impl;

import com.codahale.metrics.MetricRegistry;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.function.Predicate;
import java.util.zip.GZIPOutputStream;
import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.http.whiteboard.propertytypes.HttpWhiteboardServletName;
import org.osgi.service.http.whiteboard.propertytypes.HttpWhiteboardServletPattern;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * {@code GET /metrics}: Halyard's metric registry in the Prometheus text exposition format (or
 * OpenMetrics when the scraper asks for it), written by prometheus client_java.
 *
 * <p>A plain servlet on the HTTP whiteboard rather than a JAX-RS resource: the scrape path then
 * depends only on the HTTP service, not on the JAX-RS whiteboard and the REST bundle's
 * application (JSON provider, OpenAI-shaped errors), so that replacing the REST API never
 * interrupts scraping, and the client_java writers stream straight into the response. The
 * exact-path servlet wins over the JAX-RS application's {@code /*} in the same context.
 *
 * <p>{@code ?name[]=...} limits the answer to the named families, as client_java's own exporters
 * do. Without the telemetry bundle there is nothing to export: 503.
 */
@Component(service = Servlet.class, configurationPid = MetricsServlet.PID)
@HttpWhiteboardServletPattern("/metrics")
@HttpWhiteboardServletName("halyard-prometheus")
@Designate(ocd = MetricsServlet.Config.class)
public class MetricsServlet extends HttpServlet {

    /** The configuration PID. */
    public static final String PID = "org.halyard.exporter.prometheus";

    private static final long serialVersionUID = 1L;

    /** The Prometheus exporter's configuration. */
    @ObjectClassDefinition(name = "Halyard Prometheus exporter", description = "Serves /metrics for Prometheus")
    public @interface Config {

        @AttributeDefinition(description = "The path the metrics are served on (HTTP whiteboard servlet pattern)")
        String osgi_http_whiteboard_servlet_pattern() default "/metrics";

        @AttributeDefinition(description = "Answer in OpenMetrics when the scraper's Accept header asks for it "
                + "(otherwise always the Prometheus text format 0.0.4)")
        boolean openMetrics() default true;
    }

    private final transient PrometheusTextFormatWriter text = PrometheusTextFormatWriter.create();
    private final transient OpenMetricsTextFormatWriter openMetricsWriter = OpenMetricsTextFormatWriter.create();
    private volatile boolean openMetrics;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, target = "(" + HalyardMetrics.REGISTRY + "=*)")
    private volatile MetricRegistry registry;

    @Activate
    public MetricsServlet(Config config) {
        configure(config);
    }

    @Modified
    void configure(Config config) {
        this.openMetrics = config.openMetrics();
    }

    /** For tests: what DS would inject. */
    void registry(MetricRegistry registry) {
        this.registry = registry;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        MetricRegistry r = registry;
        if (r == null) {
            resp.setStatus(HttpServletResponse.SC_SERVICE_UNAVAILABLE);
            resp.setContentType("text/plain; charset=utf-8");
            resp.getOutputStream().write(("No metrics: Halyard's telemetry is not running "
                    + "(feature:install halyard-telemetry)\n").getBytes(StandardCharsets.UTF_8));
            return;
        }
        String[] names = req.getParameterValues("name[]");
        MetricSnapshots snapshots = RegistryCollector.collect(r, filter(names));
        ExpositionFormatWriter writer = writerFor(req.getHeader("Accept"));
        resp.setStatus(HttpServletResponse.SC_OK);
        resp.setContentType(writer.getContentType());
        String encoding = req.getHeader("Accept-Encoding");
        if (encoding != null && encoding.contains("gzip")) {
            resp.setHeader("Content-Encoding", "gzip");
            try (GZIPOutputStream gzip = new GZIPOutputStream(resp.getOutputStream())) {
                writer.write(gzip, snapshots, EscapingScheme.UNDERSCORE_ESCAPING);
            }
        } else {
            OutputStream out = resp.getOutputStream();
            writer.write(out, snapshots, EscapingScheme.UNDERSCORE_ESCAPING);
            out.flush();
        }
    }

    ExpositionFormatWriter writerFor(String accept) {
        return openMetrics && openMetricsWriter.accepts(accept) ? openMetricsWriter : text;
    }

    /** Accepts a family when its name, or its name with a counter's {@code _total}, was asked for. */
    static Predicate<String> filter(String[] names) {
        if (names == null || names.length == 0) {
            return n -> true;
        }
        Set<String> wanted = Set.of(names);
        return n -> wanted.contains(n) || wanted.contains(n + "_total");
    }
}
