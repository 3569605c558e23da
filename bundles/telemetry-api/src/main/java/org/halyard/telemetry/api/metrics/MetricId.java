package org.halyard.telemetry.api.metrics;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A metric's family name and labels, and their encoding as one Dropwizard metric name.
 *
 * <pre>
 *   name                      → gen_ai.server.request.duration
 *   name{k=v,k2=v2}           → labels sorted by key; '\' ',' '=' '{' '}' in values escaped with '\'
 * </pre>
 *
 * Label values must come from bounded sets (model names, mode names, outcomes): never request ids,
 * tenants or anything a client controls.
 *
 * @param name the family name, for example {@code gen_ai.server.time_to_first_token}
 * @param labels label keys to values, sorted by key
 */
public record MetricId(String name, Map<String, String> labels) {

    public MetricId {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.indexOf('{') >= 0) {
            throw new IllegalArgumentException("bad metric name: '" + name + "'");
        }
        TreeMap<String, String> sorted = new TreeMap<>();
        if (labels != null) {
            labels.forEach((k, v) -> {
                if (k == null || k.isEmpty() || !k.chars().allMatch(c -> c == '_' || c == '.'
                        || Character.isLetterOrDigit(c))) {
                    throw new IllegalArgumentException("bad label key: '" + k + "'");
                }
                sorted.put(k, Objects.requireNonNull(v, "label value of " + k));
            });
        }
        labels = Collections.unmodifiableMap(sorted);
    }

    /** A metric id from a name and alternating label keys and values. */
    public static MetricId of(String name, String... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values must come in pairs");
        }
        TreeMap<String, String> m = new TreeMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return new MetricId(name, m);
    }

    /** The value of a label, or null. */
    public String label(String key) {
        return labels.get(key);
    }

    /** This id with one more label (or one replaced). */
    public MetricId with(String key, String value) {
        TreeMap<String, String> m = new TreeMap<>(labels);
        m.put(key, value);
        return new MetricId(name, m);
    }

    /** The Dropwizard name: {@code name} or {@code name{k=v,...}}. */
    public String encode() {
        if (labels.isEmpty()) {
            return name;
        }
        StringBuilder b = new StringBuilder(name.length() + 16 * labels.size()).append(name).append('{');
        boolean first = true;
        for (Map.Entry<String, String> e : labels.entrySet()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            b.append(e.getKey()).append('=');
            String v = e.getValue();
            for (int i = 0; i < v.length(); i++) {
                char c = v.charAt(i);
                if (c == '\\' || c == ',' || c == '=' || c == '{' || c == '}') {
                    b.append('\\');
                }
                b.append(c);
            }
        }
        return b.append('}').toString();
    }

    /**
     * Parses a Dropwizard name. A name without labels (any metric another bundle registered under a
     * plain name) parses to an id without labels.
     *
     * @throws IllegalArgumentException when the label part is malformed
     */
    public static MetricId parse(String encoded) {
        int open = encoded.indexOf('{');
        if (open < 0) {
            return new MetricId(encoded, Map.of());
        }
        if (!encoded.endsWith("}")) {
            throw new IllegalArgumentException("unterminated labels: " + encoded);
        }
        TreeMap<String, String> m = new TreeMap<>();
        int i = open + 1;
        int end = encoded.length() - 1;
        while (i < end) {
            int eq = encoded.indexOf('=', i);
            if (eq < 0 || eq > end) {
                throw new IllegalArgumentException("label without value: " + encoded);
            }
            String key = encoded.substring(i, eq);
            StringBuilder v = new StringBuilder();
            int j = eq + 1;
            for (; j < end; j++) {
                char c = encoded.charAt(j);
                if (c == '\\' && j + 1 < end) {
                    v.append(encoded.charAt(++j));
                } else if (c == ',') {
                    break;
                } else {
                    v.append(c);
                }
            }
            m.put(key, v.toString());
            i = j + 1;
        }
        return new MetricId(encoded.substring(0, open), m);
    }

    @Override
    public String toString() {
        return encode();
    }
}
