package org.halyard.exporter.prometheus.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import javax.servlet.ServletOutputStream;
import javax.servlet.WriteListener;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.junit.jupiter.api.Test;

class MetricsServletTest {

    /** What a response got. */
    static final class Captured {
        int status;
        final Map<String, String> headers = new HashMap<>();
        final ByteArrayOutputStream body = new ByteArrayOutputStream();

        String text() {
            return body.toString(StandardCharsets.UTF_8);
        }
    }

    private static HttpServletRequest request(Map<String, String> headers, Map<String, String[]> params) {
        return (HttpServletRequest) Proxy.newProxyInstance(MetricsServletTest.class.getClassLoader(),
                new Class<?>[] {HttpServletRequest.class}, (p, m, a) -> switch (m.getName()) {
                    case "getHeader" -> headers.get((String) a[0]);
                    case "getParameterValues" -> params.get((String) a[0]);
                    case "getMethod" -> "GET";
                    default -> null;
                });
    }

    private static HttpServletResponse response(Captured c) {
        ServletOutputStream out = new ServletOutputStream() {
            @Override public boolean isReady() { return true; }
            @Override public void setWriteListener(WriteListener l) { }
            @Override public void write(int b) { c.body.write(b); }
        };
        return (HttpServletResponse) Proxy.newProxyInstance(MetricsServletTest.class.getClassLoader(),
                new Class<?>[] {HttpServletResponse.class}, (p, m, a) -> {
                    switch (m.getName()) {
                        case "setStatus" -> c.status = (Integer) a[0];
                        case "setContentType" -> c.headers.put("Content-Type", (String) a[0]);
                        case "setHeader" -> c.headers.put((String) a[0], (String) a[1]);
                        case "getOutputStream" -> {
                            return out;
                        }
                        default -> { }
                    }
                    return null;
                });
    }

    private static MetricsServlet servlet(boolean openMetrics) {
        return new MetricsServlet(new MetricsServlet.Config() {
            @Override public Class<? extends java.lang.annotation.Annotation> annotationType() { return MetricsServlet.Config.class; }
            @Override public String osgi_http_whiteboard_servlet_pattern() { return "/metrics"; }
            @Override public boolean openMetrics() { return openMetrics; }
        });
    }

    @Test
    void servesThePrometheusTextFormat() throws Exception {
        MetricsServlet s = servlet(true);
        s.registry(SampleRegistry.create());
        Captured c = new Captured();
        s.doGet(request(Map.of("Accept", "text/plain"), Map.of()), response(c));
        assertEquals(200, c.status);
        assertEquals("text/plain; version=0.0.4; charset=utf-8", c.headers.get("Content-Type"));
        assertTrue(c.text().contains("# TYPE gen_ai_server_time_to_first_token_seconds histogram"), c.text());
    }

    @Test
    void negotiatesOpenMetricsAndGzipWhenAskedAndAllowed() throws Exception {
        MetricsServlet s = servlet(true);
        s.registry(SampleRegistry.create());
        Captured c = new Captured();
        s.doGet(request(Map.of("Accept", "application/openmetrics-text; version=1.0.0", "Accept-Encoding", "gzip"),
                Map.of("name[]", new String[] {"halyard_server_requests_total"})), response(c));
        assertTrue(c.headers.get("Content-Type").startsWith("application/openmetrics-text"), c.headers.toString());
        assertEquals("gzip", c.headers.get("Content-Encoding"));
        String body = new String(new GZIPInputStream(new ByteArrayInputStream(c.body.toByteArray())).readAllBytes(),
                StandardCharsets.UTF_8);
        assertTrue(body.contains("halyard_server_requests_total{"), body);
        assertTrue(!body.contains("gen_ai_server"), "only the family asked for: " + body);
        assertTrue(body.endsWith("# EOF\n"), body);

        MetricsServlet plain = servlet(false);
        assertTrue(plain.writerFor("application/openmetrics-text").getContentType().startsWith("text/plain"));
    }

    @Test
    void withoutTelemetryItAnswers503() throws Exception {
        Captured c = new Captured();
        servlet(true).doGet(request(Map.of(), Map.of()), response(c));
        assertEquals(503, c.status);
        assertTrue(c.text().contains("halyard-telemetry"), c.text());
    }
}
