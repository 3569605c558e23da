package org.halyard.mode.batch;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The lines of a batch input file (JSONL, UTF-8): one request per line,
 * {@code {"custom_id": "...", "method": "POST", "url": "/v1/chat/completions", "body": {...}}}.
 * Blank lines are skipped. {@link #validate} checks the whole file before a batch runs;
 * {@link #next} reads the lines of a valid file one by one for the runner.
 */
final class InputLines implements AutoCloseable {

    /** Most validation errors reported; further ones are counted only. */
    static final int MAX_ERRORS = 100;

    /** One request of the file. */
    record Line(int number, String customId, String body) {
    }

    /** A problem of one line (or of the file, {@code line} null): OpenAI's batch error object. */
    record Problem(String code, String message, String param, Integer line) {
    }

    /** What validation found. */
    record Validation(int lines, List<Problem> problems, int moreProblems) {
        boolean valid() {
            return problems.isEmpty();
        }
    }

    private final BufferedReader reader;
    private int number;

    private InputLines(BufferedReader reader) {
        this.reader = reader;
    }

    static InputLines open(Path file) throws IOException {
        // malformed UTF-8 is an error, not silently replaced
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        return new InputLines(new BufferedReader(new InputStreamReader(Files.newInputStream(file), decoder), 65536));
    }

    /** The next request of a file that passed validation, or null at its end. */
    Line next() throws IOException {
        String text;
        while ((text = reader.readLine()) != null) {
            number++;
            if (text.isBlank()) {
                continue;
            }
            JsonNode n = Jsonl.MAPPER.readTree(text);
            return new Line(number, n.get("custom_id").textValue(), n.get("body").toString());
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }

    /**
     * Checks every line: a JSON object with a unique, non-empty {@code custom_id}, method POST,
     * {@code url} equal to the batch's endpoint and a {@code body} object naming a {@code model}
     * and not asking to stream; at least one and at most {@code maxLines} lines.
     */
    static Validation validate(Path file, String endpoint, int maxLines) throws IOException {
        List<Problem> problems = new ArrayList<>();
        int[] more = {0};
        Set<String> ids = new HashSet<>();
        int lines = 0;
        int number = 0;
        try (InputLines in = open(file)) {
            String text;
            while ((text = in.reader.readLine()) != null) {
                number++;
                if (text.isBlank()) {
                    continue;
                }
                lines++;
                if (lines > maxLines) {
                    continue; // counted for the message below
                }
                check(text, number, endpoint, ids, problems, more);
            }
        } catch (CharacterCodingException e) {
            add(problems, more, new Problem("invalid_encoding", "Line " + (number + 1) + " is not valid UTF-8; the "
                    + "input file must be UTF-8 encoded JSONL.", null, number + 1));
        }
        if (lines == 0 && problems.isEmpty()) {
            add(problems, more, new Problem("empty_file", "The input file holds no requests; put one JSON request "
                    + "per line.", null, null));
        }
        if (lines > maxLines) {
            add(problems, more, new Problem("too_many_lines", "The input file holds " + lines + " requests; a batch "
                    + "may hold at most " + maxLines + ". Split it into several batches.", null, null));
        }
        return new Validation(lines, problems, more[0]);
    }

    private static void add(List<Problem> problems, int[] more, Problem p) {
        if (problems.size() < MAX_ERRORS) {
            problems.add(p);
        } else {
            more[0]++;
        }
    }

    private static void check(String text, int line, String endpoint, Set<String> ids, List<Problem> problems,
            int[] more) {
        JsonNode n;
        try {
            n = Jsonl.MAPPER.readTree(text);
        } catch (JacksonException e) {
            add(problems, more, new Problem("invalid_json_line", "Line " + line + " is not valid JSON: "
                    + e.getOriginalMessage(), null, line));
            return;
        }
        if (n == null || !n.isObject()) {
            add(problems, more, new Problem("invalid_json_line", "Line " + line + " must be a JSON object with "
                    + "custom_id, method, url and body.", null, line));
            return;
        }
        JsonNode id = n.get("custom_id");
        if (id == null || !id.isTextual() || id.textValue().isEmpty()) {
            add(problems, more, new Problem("missing_required_parameter", "Line " + line + " has no custom_id: "
                    + "give every request a unique, non-empty string custom_id.", "custom_id", line));
        } else if (id.textValue().length() > 512) {
            add(problems, more, new Problem("invalid_value", "Line " + line + ": custom_id is longer than 512 "
                    + "characters.", "custom_id", line));
        } else if (!ids.add(id.textValue())) {
            add(problems, more, new Problem("duplicate_custom_id", "Line " + line + ": the custom_id '"
                    + id.textValue() + "' is used by an earlier line; custom_ids must be unique in a batch.",
                    "custom_id", line));
        }
        JsonNode method = n.get("method");
        if (method == null || !method.isTextual() || !method.textValue().equals("POST")) {
            add(problems, more, new Problem("invalid_value", "Line " + line + ": method must be \"POST\".", "method",
                    line));
        }
        JsonNode url = n.get("url");
        if (url == null || !url.isTextual() || !url.textValue().equals(endpoint)) {
            add(problems, more, new Problem("mismatched_endpoint", "Line " + line + ": url is "
                    + (url == null ? "missing" : url.toString()) + "; every line of this batch must have url \""
                    + endpoint + "\", the batch's endpoint.", "url", line));
        }
        JsonNode body = n.get("body");
        if (body == null || !body.isObject()) {
            add(problems, more, new Problem("missing_required_parameter", "Line " + line + ": body must be the JSON "
                    + "object of the request.", "body", line));
            return;
        }
        JsonNode model = body.get("model");
        if (model == null || !model.isTextual() || model.textValue().isEmpty()) {
            add(problems, more, new Problem("missing_required_parameter", "Line " + line + ": body.model is "
                    + "required.", "body.model", line));
        }
        JsonNode stream = body.get("stream");
        if (stream != null && stream.asBoolean(false)) {
            add(problems, more, new Problem("invalid_value", "Line " + line + ": body.stream must be false or left "
                    + "out; batch answers go to the output file.", "body.stream", line));
        }
    }
}
