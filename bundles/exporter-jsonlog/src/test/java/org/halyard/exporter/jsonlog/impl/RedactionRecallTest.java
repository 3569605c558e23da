package org.halyard.exporter.jsonlog.impl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Measures the redaction recall on Presidio's synthetic PII set (750 sentences, test resource
 * {@code pii/synth_dataset_v2.dev.json}): a labelled entity counts as redacted when every letter
 * and digit of it is covered by a finding (of any kind: what matters is that it does not leave).
 * Prints recall per entity type and the findings that cover no labelled entity at all (false
 * positives), and writes the table to {@code target/redaction-recall.txt}.
 *
 * <p>The floors below guard against regressions; they sit under the measured figures, which the
 * table reports. Other splits of this data are used to evaluate Halyard independently, so the
 * patterns are not tuned to this file's values.
 */
class RedactionRecallTest {

    /** The types the JSON log promises to redact, and SSNs (caught as phone-shaped numbers). */
    static final List<String> TARGETS = List.of("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE",
            "IP_ADDRESS", "US_SSN");

    record Span(String type, int start, int end) {
    }

    record Sample(String text, List<Span> spans) {
    }

    static List<Sample> samples;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = RedactionRecallTest.class.getResourceAsStream("/pii/synth_dataset_v2.dev.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            samples = new ArrayList<>();
            for (JsonNode n : root) {
                List<Span> spans = new ArrayList<>();
                for (JsonNode s : n.get("spans")) {
                    spans.add(new Span(s.get("entity_type").asText(), s.get("start_position").asInt(),
                            s.get("end_position").asInt()));
                }
                samples.add(new Sample(n.get("full_text").asText(), spans));
            }
        }
    }

    static boolean covered(String text, Span s, List<Redactor.Finding> found) {
        for (int i = s.start(); i < s.end(); i++) {
            if (!Character.isLetterOrDigit(text.charAt(i))) {
                continue;
            }
            boolean in = false;
            for (Redactor.Finding f : found) {
                if (f.start() <= i && i < f.end()) {
                    in = true;
                    break;
                }
            }
            if (!in) {
                return false;
            }
        }
        return true;
    }

    @Test
    void recallPerEntityTypeOnPresidioSyntheticData() throws Exception {
        Map<String, int[]> perType = new TreeMap<>();   // type -> {redacted, total}
        Map<String, Integer> falsePositives = new TreeMap<>();  // finding kind -> count overlapping no target
        Map<String, Integer> overlapsOther = new TreeMap<>();   // labelled non-target type hit by a finding
        List<String> missed = new ArrayList<>();
        int findings = 0;
        for (Sample sample : samples) {
            List<Redactor.Finding> found = Redactor.find(sample.text());
            findings += found.size();
            for (Span s : sample.spans()) {
                if (!TARGETS.contains(s.type())) {
                    continue;
                }
                int[] c = perType.computeIfAbsent(s.type(), k -> new int[2]);
                c[1]++;
                if (covered(sample.text(), s, found)) {
                    c[0]++;
                } else {
                    missed.add(s.type() + ": " + sample.text().substring(s.start(), s.end()).replace("\n", "\\n"));
                }
            }
            for (Redactor.Finding f : found) {
                boolean target = false;
                String other = null;
                for (Span s : sample.spans()) {
                    if (f.start() < s.end() && s.start() < f.end()) {
                        if (TARGETS.contains(s.type())) {
                            target = true;
                        } else {
                            other = s.type();
                        }
                    }
                }
                if (!target) {
                    falsePositives.merge(f.kind().name(), 1, Integer::sum);
                    if (other != null) {
                        overlapsOther.merge(other, 1, Integer::sum);
                    }
                }
            }
        }
        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "Redaction recall on %d sentences of presidio-research "
                + "synth_dataset_v2 (dev half):%n", samples.size()));
        report.append(String.format(Locale.ROOT, "%-15s %8s %6s %7s%n", "entity", "redacted", "total", "recall"));
        int allRedacted = 0;
        int all = 0;
        for (Map.Entry<String, int[]> e : perType.entrySet()) {
            int[] c = e.getValue();
            allRedacted += c[0];
            all += c[1];
            report.append(String.format(Locale.ROOT, "%-15s %8d %6d %6.1f%%%n", e.getKey(), c[0], c[1], 100.0 * c[0] / c[1]));
        }
        report.append(String.format(Locale.ROOT, "%-15s %8d %6d %6.1f%%%n", "all", allRedacted, all, 100.0 * allRedacted / all));
        int fp = falsePositives.values().stream().mapToInt(Integer::intValue).sum();
        report.append(String.format(Locale.ROOT, "findings: %d; covering no target entity: %d %s, of which on other "
                + "labelled PII %s%n", findings, fp, falsePositives, overlapsOther));
        report.append("missed: ").append(missed).append('\n');
        System.out.print(report);
        Path out = Path.of("target", "redaction-recall.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report.toString(), StandardCharsets.UTF_8);

        assertRecall(perType, "EMAIL_ADDRESS", 1.0);
        assertRecall(perType, "CREDIT_CARD", 1.0);
        assertRecall(perType, "IBAN_CODE", 1.0);
        assertRecall(perType, "IP_ADDRESS", 1.0);
        assertRecall(perType, "PHONE_NUMBER", 0.85);
        assertRecall(perType, "US_SSN", 0.85);
    }

    @Test
    void fewFindingsInOrdinaryText() throws Exception {
        List<String> texts = new ArrayList<>();
        try (InputStream in = RedactionRecallTest.class.getResourceAsStream("/benign/seed_tasks.jsonl")) {
            ObjectMapper json = new ObjectMapper();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode task = json.readTree(line);
                texts.add(task.get("instruction").asText());
                for (JsonNode i : task.get("instances")) {
                    texts.add(i.get("input").asText());
                    texts.add(i.get("output").asText());
                }
            }
        }
        Map<String, Integer> kinds = new TreeMap<>();
        List<String> examples = new ArrayList<>();
        int chars = 0;
        for (String t : texts) {
            chars += t.length();
            for (Redactor.Finding f : Redactor.find(t)) {
                kinds.merge(f.kind().name(), 1, Integer::sum);
                examples.add(f.kind() + ": " + t.substring(f.start(), f.end()).replace("\n", "\\n"));
            }
        }
        String report = String.format(Locale.ROOT, "Findings in %d benign texts (%d characters) of self-instruct "
                + "seed tasks: %s %s%n", texts.size(), chars, kinds, examples);
        System.out.print(report);
        Files.writeString(Path.of("target", "redaction-recall.txt"), report, StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        assertTrue(examples.size() <= 10, "too many findings in ordinary text: " + examples);
    }

    private static void assertRecall(Map<String, int[]> perType, String type, double floor) {
        int[] c = perType.get(type);
        assertTrue(c != null && c[1] > 0, type + " present in the data");
        double recall = (double) c[0] / c[1];
        assertTrue(recall >= floor, type + " recall " + recall + " below " + floor);
    }
}
