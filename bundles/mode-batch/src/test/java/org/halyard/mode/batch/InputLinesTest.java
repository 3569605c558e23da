package org.halyard.mode.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InputLinesTest {

    static final String URL = "/v1/chat/completions";

    @TempDir
    Path dir;

    static String line(String id, String url, String body) {
        return "{\"custom_id\":\"" + id + "\",\"method\":\"POST\",\"url\":\"" + url + "\",\"body\":" + body + "}";
    }

    static String ok(String id) {
        return line(id, URL, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi " + id + "\"}]}");
    }

    private Path file(String... lines) throws Exception {
        Path p = dir.resolve("in.jsonl");
        Files.writeString(p, String.join("\n", lines) + "\n");
        return p;
    }

    @Test
    void aValidFileIsReadLineByLineSkippingBlankLines() throws Exception {
        Path p = file(ok("a"), "", ok("b"), "   ");
        InputLines.Validation v = InputLines.validate(p, URL, 10);
        assertTrue(v.valid(), v.problems().toString());
        assertEquals(2, v.lines());
        try (InputLines in = InputLines.open(p)) {
            InputLines.Line a = in.next();
            assertEquals("a", a.customId());
            assertEquals(1, a.number());
            assertTrue(a.body().contains("hi a"));
            assertEquals(3, in.next().number());
            assertNull(in.next());
        }
    }

    @Test
    void everyKindOfBadLineIsReportedWithItsLineNumber() throws Exception {
        Path p = file(ok("a"), "{not json", "[1,2]", ok("a"), line("c", "/v1/embeddings", "{\"model\":\"m\"}"),
                "{\"custom_id\":\"d\",\"method\":\"GET\",\"url\":\"" + URL + "\",\"body\":{\"model\":\"m\"}}",
                line("e", URL, "\"text\""), line("f", URL, "{\"messages\":[]}"),
                line("g", URL, "{\"model\":\"m\",\"stream\":true}"), "{\"method\":\"POST\",\"url\":\"" + URL
                        + "\",\"body\":{\"model\":\"m\"}}", ok("h") + " {}");
        InputLines.Validation v = InputLines.validate(p, URL, 100);
        assertFalse(v.valid());
        List<String> got = v.problems().stream().map(x -> x.line() + ":" + x.code() + ":" + x.param()).toList();
        assertEquals(List.of("2:invalid_json_line:null", "3:invalid_json_line:null", "4:duplicate_custom_id:custom_id",
                "5:mismatched_endpoint:url", "6:invalid_value:method", "7:missing_required_parameter:body",
                "8:missing_required_parameter:body.model", "9:invalid_value:body.stream",
                "10:missing_required_parameter:custom_id", "11:invalid_json_line:null"), got);
    }

    @Test
    void emptyFilesAndFilesOverTheLineLimitAreRefused() throws Exception {
        Path empty = dir.resolve("empty.jsonl");
        Files.writeString(empty, "\n\n");
        assertEquals("empty_file", InputLines.validate(empty, URL, 10).problems().get(0).code());
        Path three = file(ok("a"), ok("b"), ok("c"));
        InputLines.Validation v = InputLines.validate(three, URL, 2);
        assertEquals("too_many_lines", v.problems().get(0).code());
        assertEquals(3, v.lines());
    }

    @Test
    void aFileThatIsNotUtf8IsRefused() throws Exception {
        Path p = dir.resolve("latin1.jsonl");
        Files.write(p, (ok("a") + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Files.write(p, new byte[] {'{', (byte) 0xe9, '}', '\n'}, java.nio.file.StandardOpenOption.APPEND);
        InputLines.Validation v = InputLines.validate(p, URL, 10);
        assertEquals("invalid_encoding", v.problems().get(0).code());
    }

    @Test
    void atMostAHundredProblemsAreListedAndTheRestCounted() throws Exception {
        String[] lines = new String[130];
        java.util.Arrays.fill(lines, "nope");
        InputLines.Validation v = InputLines.validate(file(lines), URL, 1000);
        assertEquals(InputLines.MAX_ERRORS, v.problems().size());
        assertEquals(30, v.moreProblems());
    }
}
