package org.halyard.exporter.jsonlog.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;
import org.junit.jupiter.api.Test;

class PrivacyFilterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final KeyedHasher HASHER = KeyedHasher.of("0123456789abcdef-test-key");

    static RequestRecord record(String model, String prompt, String output, Map<String, String> attributes) {
        return new RequestRecord("req-42", "acme-corp", "interactive", model, "/v1/chat/completions", Outcome.OK,
                "stop", 200, 12, 4, 3, Instant.parse("2025-03-01T10:00:00Z"), Duration.ofMillis(5),
                Duration.ofMillis(40), Duration.ofMillis(140), List.of("input:regex-pii:flag:email"), prompt, output,
                attributes);
    }

    private static PrivacyFilter filter(boolean text, String... attributes) {
        return new PrivacyFilter(PrivacyFilter.DEFAULT_FIELDS, Set.of(PrivacyFilter.Field.TENANT), List.of(attributes),
                text, 4096, HASHER);
    }

    @Test
    void byDefaultTextNeverLeavesAndTheTenantIsHashed() throws Exception {
        String line = filter(false).line(record("demo", "my card is 4111 1111 1111 1111", "ok", Map.of("user", "u-7")));
        JsonNode n = JSON.readTree(line);
        assertFalse(n.has("prompt"));
        assertFalse(n.has("output"));
        assertFalse(n.has("attributes"), "no attribute is allow-listed by default");
        assertFalse(line.contains("4111"));
        assertFalse(line.contains("acme-corp"));
        assertEquals(HASHER.hash("acme-corp"), n.get("tenant").asText());
        assertTrue(n.get("tenant").asText().startsWith("h:"));
        assertEquals("req-42", n.get("request_id").asText());
        assertEquals("ok", n.get("outcome").asText());
        assertEquals(12, n.get("prompt_tokens").asInt());
        assertEquals(40.0, n.get("ttft_ms").asDouble());
        assertEquals(50.0, n.get("tpot_ms").asDouble());
        assertEquals("2025-03-01T10:00:00.140Z", n.get("ts").asText());
        assertEquals("input:regex-pii:flag:email", n.get("verdicts").get(0).asText());
    }

    @Test
    void onlyAllowListedFieldsLeave() throws Exception {
        List<String> unknown = new ArrayList<>();
        List<PrivacyFilter.Field> fields = PrivacyFilter.parse(JsonLogExporter.list(new String[] {"request_id, outcome", "prompt", "secret_sauce"}), unknown);
        assertEquals(List.of("secret_sauce"), unknown);
        PrivacyFilter f = new PrivacyFilter(fields, List.of(), List.of(), false, 100, HASHER);
        JsonNode n = JSON.readTree(f.line(record("demo", "hello", "world", Map.of())));
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext();) {
            names.add(it.next());
        }
        assertEquals(List.of("request_id", "outcome"), names, "prompt is not written unless text is switched on");
    }

    @Test
    void textWhenSwitchedOnIsRedactedAndCut() throws Exception {
        String prompt = "Mail bob@example.org, IBAN DE89 3704 0044 0532 0130 00, key sk-abcdefghijklmnopqrstuvwx, from 10.1.2.3";
        JsonNode n = JSON.readTree(filter(true).line(record("demo", prompt, "Call +44 20 7946 0958.", Map.of())));
        assertEquals("Mail [EMAIL], IBAN [IBAN], key [API_KEY], from [IP]", n.get("prompt").asText());
        assertEquals("Call [PHONE].", n.get("output").asText());

        PrivacyFilter shortText = new PrivacyFilter(PrivacyFilter.DEFAULT_FIELDS, List.of(), List.of(), true, 10, HASHER);
        String cut = JSON.readTree(shortText.line(record("demo", "abcdefg x@y.io and more", "", Map.of()))).get("prompt").asText();
        assertEquals("abcdefg [E" + PrivacyFilter.TRUNCATED, cut);
    }

    @Test
    void aSecretStraddlingTheCutIsRedactedBeforeTheCut() throws Exception {
        String prompt = "x".repeat(95) + " jane@example.com";
        PrivacyFilter f = new PrivacyFilter(PrivacyFilter.DEFAULT_FIELDS, List.of(), List.of(), true, 100, HASHER);
        String out = JSON.readTree(f.line(record("demo", prompt, "", Map.of()))).get("prompt").asText();
        assertFalse(out.contains("jane"), out);
    }

    @Test
    void metadataAClientControlsIsRedactedToo() throws Exception {
        // a rejected request's model name comes straight from the client
        JsonNode n = JSON.readTree(filter(false).line(record("call me at 555-867-5309 jane@example.com", null, null, Map.of())));
        assertEquals("call me at [PHONE] [EMAIL]", n.get("model").asText());
    }

    @Test
    void attributesLeaveOnlyWhenAllowListedAndRedacted() throws Exception {
        JsonNode n = JSON.readTree(filter(false, "batch_id").line(record("demo", null, null,
                Map.of("batch_id", "batch-1 owner a@b.io", "user", "alice"))));
        assertEquals("batch-1 owner [EMAIL]", n.get("attributes").get("batch_id").asText());
        assertFalse(n.get("attributes").has("user"));
    }

    @Test
    void hashesAreStableUnderOneKeyAndDifferUnderAnother() {
        assertEquals(HASHER.hash("acme"), KeyedHasher.of("0123456789abcdef-test-key").hash("acme"));
        assertFalse(HASHER.hash("acme").equals(KeyedHasher.of("another-key-0123456789").hash("acme")));
        assertFalse(HASHER.hash("acme").equals(HASHER.hash("acme2")));
    }
}
