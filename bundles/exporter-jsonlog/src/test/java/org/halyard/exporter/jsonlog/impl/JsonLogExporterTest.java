package org.halyard.exporter.jsonlog.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.annotation.Annotation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.halyard.core.api.Health;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLogExporterTest {

    static JsonLogExporter.Config config(Path file, long maxBytes, boolean text) {
        return new JsonLogExporter.Config() {
            @Override public Class<? extends Annotation> annotationType() { return JsonLogExporter.Config.class; }
            @Override public String target() { return "file"; }
            @Override public String path() { return file.toString(); }
            @Override public long maxFileSizeBytes() { return maxBytes; }
            @Override public int maxFiles() { return 2; }
            @Override public String[] fields() { return new String[] {"ts", "request_id", "tenant", "model", "outcome", "total_ms"}; }
            @Override public String[] hashedFields() { return new String[] {"tenant"}; }
            @Override public String hashKey() { return ""; }
            @Override public String[] attributes() { return new String[0]; }
            @Override public boolean includeText() { return text; }
            @Override public int maxTextChars() { return 4096; }
        };
    }

    @Test
    void writesOneJsonLinePerRequest(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("log/requests.jsonl");
        JsonLogExporter e = new JsonLogExporter(config(file, 1 << 20, false));
        e.onRequest(PrivacyFilterTest.record("demo", "secret prompt", "secret output", Map.of()));
        e.onRequest(PrivacyFilterTest.record("demo", "secret prompt", "secret output", Map.of()));
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertEquals(2, lines.size());
        for (String l : lines) {
            assertEquals("demo", new ObjectMapper().readTree(l).get("model").asText());
            assertFalse(l.contains("secret"), l);
            assertFalse(l.contains("acme-corp"), l);
        }
        Health h = e.health().get(0);
        assertEquals(Health.Status.UP, h.status());
        assertEquals("2", h.attributes().get("lines"));
        e.deactivate();
    }

    @Test
    void rollsOverBySizeKeepingMaxFiles(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("r.jsonl");
        JsonLogExporter e = new JsonLogExporter(config(file, 1024, false));
        for (int i = 0; i < 40; i++) {
            e.onRequest(PrivacyFilterTest.record("demo", null, null, Map.of()));
        }
        e.deactivate();
        assertTrue(Files.size(file) <= 1024);
        assertTrue(Files.exists(dir.resolve("r.jsonl.1")));
        assertTrue(Files.exists(dir.resolve("r.jsonl.2")));
        assertFalse(Files.exists(dir.resolve("r.jsonl.3")), "maxFiles = 2");
    }

    @Test
    void reconfiguringSwitchesTextOnLiveWithoutLosingTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("t.jsonl");
        JsonLogExporter e = new JsonLogExporter(config(file, 1 << 20, false));
        e.onRequest(PrivacyFilterTest.record("demo", "mail me: a@b.io", "x", Map.of()));
        e.configure(config(file, 1 << 20, true));
        e.onRequest(PrivacyFilterTest.record("demo", "mail me: a@b.io", "x", Map.of()));
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertEquals(2, lines.size());
        assertFalse(lines.get(0).contains("prompt"));
        assertEquals("mail me: [EMAIL]", new ObjectMapper().readTree(lines.get(1)).get("prompt").asText());
        // the random hash key survives reconfiguration: one tenant, one hash
        assertEquals(new ObjectMapper().readTree(lines.get(0)).get("tenant"), new ObjectMapper().readTree(lines.get(1)).get("tenant"));
        e.deactivate();
    }

    @Test
    void afterDeactivationNothingIsWrittenAndNothingThrows(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("gone/f.jsonl");
        JsonLogExporter e = new JsonLogExporter(config(file, 1 << 20, false));
        e.deactivate();   // a record racing with deactivation is dropped, not thrown
        e.onRequest(PrivacyFilterTest.record("demo", null, null, Map.of()));
        assertEquals(0, Files.readAllLines(file).size());
    }
}
