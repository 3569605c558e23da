package org.halyard.exporter.jsonlog.impl;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.halyard.telemetry.api.RequestRecord;

/**
 * Turns a request record into one JSON line, failing closed:
 *
 * <ul>
 *   <li>only fields on the allow-list leave, each written by code that knows its type; a record
 *       field not listed here has no way out;</li>
 *   <li>every string, metadata included (a client can put an e-mail address in the model name of
 *       a rejected request), passes through the {@link Redactor} and is cut to a bounded
 *       length;</li>
 *   <li>identifiers on the hash list (the tenant by default) are replaced by keyed hashes;</li>
 *   <li>attributes leave only for allow-listed keys;</li>
 *   <li>prompt and output text leave only when switched on, and then redacted;</li>
 *   <li>anything that fails while a value is filtered replaces that value with
 *       {@code [FILTER_FAILED]}; anything that fails while the line is built drops the line.</li>
 * </ul>
 */
final class PrivacyFilter {

    /** What may leave, with its JSON name. */
    enum Field {
        TS("ts"), START("start"), REQUEST_ID("request_id"), TENANT("tenant"), MODE("mode"), MODEL("model"),
        ENDPOINT("endpoint"), OUTCOME("outcome"), FINISH_REASON("finish_reason"), HTTP_STATUS("http_status"),
        PROMPT_TOKENS("prompt_tokens"), CACHED_TOKENS("cached_tokens"), OUTPUT_TOKENS("output_tokens"),
        QUEUE_MS("queue_ms"), TTFT_MS("ttft_ms"), TPOT_MS("tpot_ms"), TOTAL_MS("total_ms"), VERDICTS("verdicts"),
        ATTRIBUTES("attributes"), PROMPT("prompt"), OUTPUT("output");

        final String json;

        Field(String json) {
            this.json = json;
        }

        static Field byJsonName(String name) {
            for (Field f : values()) {
                if (f.json.equals(name.trim().toLowerCase(Locale.ROOT))) {
                    return f;
                }
            }
            return null;
        }
    }

    /** The fields written by default: everything but the text. */
    static final Set<Field> DEFAULT_FIELDS = EnumSet.complementOf(EnumSet.of(Field.PROMPT, Field.OUTPUT));

    /** Longest metadata string written. */
    static final int MAX_VALUE_CHARS = 256;
    static final String FAILED = "[FILTER_FAILED]";
    static final String TRUNCATED = "...[TRUNCATED]";

    private static final JsonFactory JSON = new JsonFactory();

    private final Set<Field> fields;
    private final Set<Field> hashed;
    private final Set<String> attributeKeys;
    private final boolean text;
    private final int maxTextChars;
    private final KeyedHasher hasher;

    /**
     * @param fields the allow-list (prompt and output are added when {@code text} is on)
     * @param hashed fields whose values are replaced by keyed hashes
     * @param attributeKeys attribute keys that may leave
     * @param text whether prompt and output text leave (redacted)
     */
    PrivacyFilter(Collection<Field> fields, Collection<Field> hashed, Collection<String> attributeKeys, boolean text,
            int maxTextChars, KeyedHasher hasher) {
        EnumSet<Field> f = fields.isEmpty() ? EnumSet.noneOf(Field.class) : EnumSet.copyOf(fields);
        f.removeAll(EnumSet.of(Field.PROMPT, Field.OUTPUT));
        if (text) {
            f.add(Field.PROMPT);
            f.add(Field.OUTPUT);
        }
        this.fields = f;
        this.hashed = hashed.isEmpty() ? EnumSet.noneOf(Field.class) : EnumSet.copyOf(hashed);
        this.attributeKeys = Set.copyOf(attributeKeys);
        this.text = text;
        this.maxTextChars = Math.max(0, maxTextChars);
        this.hasher = hasher;
    }

    /** Field names from configuration; unknown names are returned in {@code unknown}. */
    static List<Field> parse(List<String> names, Collection<String> unknown) {
        List<Field> out = new ArrayList<>();
        for (String n : names) {
            Field f = Field.byJsonName(n);
            if (f == null) {
                unknown.add(n);
            } else {
                out.add(f);
            }
        }
        return out;
    }

    boolean textEnabled() {
        return text;
    }

    /** The JSON line of a record (without newline). */
    String line(RequestRecord r) throws IOException {
        StringWriter w = new StringWriter(256);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            for (Field f : fields) {
                write(g, f, r);
            }
            g.writeEndObject();
        }
        return w.toString();
    }

    private void write(JsonGenerator g, Field f, RequestRecord r) throws IOException {
        switch (f) {
            case TS -> g.writeStringField(f.json, r.start().plus(r.totalTime()).toString());
            case START -> g.writeStringField(f.json, r.start().toString());
            case REQUEST_ID -> string(g, f, r.requestId());
            case TENANT -> string(g, f, r.tenant());
            case MODE -> string(g, f, r.mode());
            case MODEL -> string(g, f, r.model());
            case ENDPOINT -> string(g, f, r.endpoint());
            case OUTCOME -> g.writeStringField(f.json, r.outcome().label());
            case FINISH_REASON -> string(g, f, r.finishReason());
            case HTTP_STATUS -> g.writeNumberField(f.json, r.httpStatus());
            case PROMPT_TOKENS -> g.writeNumberField(f.json, r.promptTokens());
            case CACHED_TOKENS -> g.writeNumberField(f.json, r.cachedTokens());
            case OUTPUT_TOKENS -> g.writeNumberField(f.json, r.outputTokens());
            case QUEUE_MS -> millis(g, f, r.queueTime());
            case TTFT_MS -> millis(g, f, r.timeToFirstToken());
            case TPOT_MS -> millis(g, f, r.timePerOutputToken());
            case TOTAL_MS -> millis(g, f, r.totalTime());
            case VERDICTS -> {
                g.writeArrayFieldStart(f.json);
                for (String v : r.verdicts()) {
                    g.writeString(clean(v, MAX_VALUE_CHARS));
                }
                g.writeEndArray();
            }
            case ATTRIBUTES -> {
                if (attributeKeys.isEmpty()) {
                    return;
                }
                g.writeObjectFieldStart(f.json);
                for (Map.Entry<String, String> e : new TreeMap<>(r.attributes()).entrySet()) {
                    if (attributeKeys.contains(e.getKey())) {
                        g.writeStringField(e.getKey(), clean(e.getValue(), MAX_VALUE_CHARS));
                    }
                }
                g.writeEndObject();
            }
            case PROMPT -> text(g, f, r.prompt());
            case OUTPUT -> text(g, f, r.output());
            default -> throw new IllegalStateException("unhandled field " + f);
        }
    }

    private void string(JsonGenerator g, Field f, String value) throws IOException {
        if (value == null) {
            return;
        }
        if (hashed.contains(f)) {
            String h;
            try {
                h = hasher.hash(value);
            } catch (RuntimeException e) {
                h = FAILED;
            }
            g.writeStringField(f.json, h);
        } else {
            g.writeStringField(f.json, clean(value, MAX_VALUE_CHARS));
        }
    }

    private void text(JsonGenerator g, Field f, String value) throws IOException {
        if (!text || value == null) {
            return;
        }
        g.writeStringField(f.json, clean(value, maxTextChars));
    }

    /** Characters past the cut that redaction still sees, so that the cut cannot split what it would catch. */
    static final int REDACTION_MARGIN = 512;

    /**
     * Redacted, then cut. Only the part that can survive the cut (plus a margin) is redacted, so a
     * megabyte prompt costs no more than a short one; an entity that straddles the cut is inside
     * the margin and caught whole before the cut.
     */
    static String clean(String value, int max) {
        boolean cut = value.length() > max;
        String window = cut ? value.substring(0, Math.min(value.length(), max + REDACTION_MARGIN)) : value;
        String redacted;
        try {
            redacted = Redactor.redact(window);
        } catch (RuntimeException | StackOverflowError e) {
            return FAILED;
        }
        if (cut || redacted.length() > max) {
            return redacted.substring(0, Math.min(max, redacted.length())) + TRUNCATED;
        }
        return redacted;
    }

    private static void millis(JsonGenerator g, Field f, Duration d) throws IOException {
        if (d != null) {
            g.writeNumberField(f.json, Math.round(d.toNanos() / 1e3) / 1e3);
        }
    }

    /** The fields in the order they are written, for documentation and the health report. */
    List<String> fieldNames() {
        List<String> names = new ArrayList<>();
        for (Field f : new LinkedHashSet<>(fields)) {
            names.add(f.json);
        }
        return names;
    }
}
