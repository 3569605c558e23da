package org.halyard.core.api;

import java.util.Map;
import java.util.Objects;

/**
 * The state of one component as {@code /health}, {@code /ready} and {@code halyard:status}
 * show it.
 *
 * @param component short stable name, for example {@code engine/cpu} or {@code model/demo}
 * @param status whether the component works
 * @param ready whether the component can take traffic now (a model still loading is UP but not
 *     ready)
 * @param detail one line for humans
 * @param attributes small facts for operators (sizes, counts); never request content
 */
public record Health(String component, Status status, boolean ready, String detail,
        Map<String, String> attributes) {

    /** Whether a component works. Ordered from best to worst. */
    public enum Status {
        /** Working normally. */
        UP,
        /** Working with reduced capacity or a recoverable problem. */
        DEGRADED,
        /** Not working. */
        DOWN
    }

    public Health {
        Objects.requireNonNull(component, "component");
        Objects.requireNonNull(status, "status");
        detail = detail == null ? "" : detail;
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }

    /** A component that works and takes traffic. */
    public static Health up(String component, String detail) {
        return new Health(component, Status.UP, true, detail, Map.of());
    }

    /** A component that does not work. */
    public static Health down(String component, String detail) {
        return new Health(component, Status.DOWN, false, detail, Map.of());
    }

    /** This health with more attributes. */
    public Health with(Map<String, String> more) {
        var all = new java.util.LinkedHashMap<>(attributes);
        all.putAll(more);
        return new Health(component, status, ready, detail, all);
    }
}
