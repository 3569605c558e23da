package org.halyard.exporter.otlp.impl;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

/**
 * A minimal OTLP/HTTP collector for tests: accepts protobuf exports on /v1/metrics and
 * /v1/traces, decodes them with the OpenTelemetry protocol classes and keeps them, with the
 * headers they came with.
 */
final class OtlpReceiver implements AutoCloseable {

    final List<ExportMetricsServiceRequest> metrics = new CopyOnWriteArrayList<>();
    final List<ExportTraceServiceRequest> traces = new CopyOnWriteArrayList<>();
    final List<Map<String, List<String>>> headers = new CopyOnWriteArrayList<>();
    private final HttpServer server;

    OtlpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/metrics", ex -> handle(ex, true));
        server.createContext("/v1/traces", ex -> handle(ex, false));
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex, boolean isMetrics) throws IOException {
        try (ex) {
            headers.add(Map.copyOf(ex.getRequestHeaders()));
            InputStream in = ex.getRequestBody();
            if ("gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))) {
                in = new GZIPInputStream(in);
            }
            byte[] body = in.readAllBytes();
            byte[] answer;
            if (isMetrics) {
                metrics.add(ExportMetricsServiceRequest.parseFrom(body));
                answer = ExportMetricsServiceResponse.getDefaultInstance().toByteArray();
            } else {
                traces.add(ExportTraceServiceRequest.parseFrom(body));
                answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
            }
            ex.getResponseHeaders().add("Content-Type", "application/x-protobuf");
            ex.sendResponseHeaders(200, answer.length);
            ex.getResponseBody().write(answer);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
