package org.halyard.rest;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import javax.ws.rs.core.HttpHeaders;

/**
 * A JSON request body read within the size limit, and typed access to its fields that answers a
 * wrong type or value with a 400 naming the field and what it must be.
 */
final class Params {

    private final ObjectNode body;

    private Params(ObjectNode body) {
        this.body = body;
    }

    /** Reads a body of at most {@code maxBytes}; 413 when larger, 400 when not a JSON object. */
    static Params read(InputStream in, HttpHeaders headers, int maxBytes) {
        String length = headers == null ? null : headers.getHeaderString(HttpHeaders.CONTENT_LENGTH);
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > maxBytes) {
                    throw tooLarge(maxBytes);
                }
            } catch (NumberFormatException ignored) {
                // the container rejects malformed lengths itself
            }
        }
        byte[] bytes;
        try {
            bytes = readAtMost(in, maxBytes);
        } catch (IOException e) {
            throw new ApiException(400, "The request body could not be read: " + e.getMessage());
        }
        if (bytes.length == 0) {
            throw new ApiException(400, "The request body is empty; send a JSON object.", null, "invalid_json");
        }
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            throw new ApiException(400, "The request body is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                            + e.getLocation().getColumnNr() + ")"), null, "invalid_json");
        } catch (IOException e) {
            throw new ApiException(400, "The request body is not valid JSON: " + e.getMessage(), null, "invalid_json");
        }
        if (!(node instanceof ObjectNode o)) {
            throw new ApiException(400, "The request body must be a JSON object, not "
                    + (node == null ? "nothing" : node.getNodeType().name().toLowerCase()) + ".", null, "invalid_json");
        }
        return new Params(o);
    }

    static Params of(ObjectNode body) {
        return new Params(body);
    }

    private static byte[] readAtMost(InputStream in, int max) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16384];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
            if (out.size() > max) {
                throw tooLarge(max);
            }
        }
        return out.toByteArray();
    }

    private static ApiException tooLarge(int max) {
        return new ApiException(413, "The request body is larger than " + max + " bytes; send a shorter prompt "
                + "(the limit is maxRequestBytes in etc/org.halyard.rest.cfg).", null, "request_too_large");
    }

    ObjectNode body() {
        return body;
    }

    boolean has(String field) {
        JsonNode n = body.get(field);
        return n != null && !n.isNull();
    }

    JsonNode node(String field) {
        JsonNode n = body.get(field);
        return n == null || n.isNull() ? null : n;
    }

    static ApiException invalid(String field, String message) {
        return ApiException.invalid(field, message);
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> n.getNodeType().name().toLowerCase();
        };
    }

    String string(String field, String dflt) {
        JsonNode n = node(field);
        if (n == null) {
            return dflt;
        }
        if (!n.isTextual()) {
            throw invalid(field, "'" + field + "' must be a string, not " + kind(n) + ".");
        }
        return n.textValue();
    }

    String requiredString(String field) {
        String s = string(field, null);
        if (s == null || s.isEmpty()) {
            throw invalid(field, "'" + field + "' is required.");
        }
        return s;
    }

    boolean bool(String field, boolean dflt) {
        JsonNode n = node(field);
        if (n == null) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw invalid(field, "'" + field + "' must be true or false, not " + kind(n) + ".");
        }
        return n.booleanValue();
    }

    /** An integer in [min, max], or the default when absent. */
    Long integer(String field, long min, long max, Long dflt) {
        JsonNode n = node(field);
        if (n == null) {
            return dflt;
        }
        if (!n.isIntegralNumber() && !(n.isFloatingPointNumber() && n.doubleValue() == Math.rint(n.doubleValue()))) {
            throw invalid(field, "'" + field + "' must be an integer, not " + kind(n) + ".");
        }
        if (!n.canConvertToLong() || n.longValue() < min || n.longValue() > max) {
            throw invalid(field, "'" + field + "' must be between " + min + " and " + max + "; got " + n.asText() + ".");
        }
        return n.longValue();
    }

    /** A number in [min, max] (or (min, max] when {@code openMin}), or the default. */
    double number(String field, double min, double max, boolean openMin, double dflt) {
        JsonNode n = node(field);
        if (n == null) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw invalid(field, "'" + field + "' must be a number, not " + kind(n) + ".");
        }
        double v = n.doubleValue();
        if (!Double.isFinite(v) || v > max || (openMin ? v <= min : v < min)) {
            throw invalid(field, "'" + field + "' must be " + (openMin ? "greater than " : "at least ") + min
                    + " and at most " + max + "; got " + n.asText() + ".");
        }
        return v;
    }

    /** A string or an array of strings (at most {@code max}), or an empty list. */
    List<String> strings(String field, int max) {
        JsonNode n = node(field);
        List<String> out = new ArrayList<>();
        if (n == null) {
            return out;
        }
        if (n.isTextual()) {
            out.add(n.textValue());
        } else if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isTextual()) {
                    throw invalid(field, "'" + field + "' must be a string or an array of strings.");
                }
                out.add(e.textValue());
            }
        } else {
            throw invalid(field, "'" + field + "' must be a string or an array of strings, not " + kind(n) + ".");
        }
        if (out.size() > max) {
            throw invalid(field, "'" + field + "' may hold at most " + max + " strings; got " + out.size() + ".");
        }
        return out;
    }
}
