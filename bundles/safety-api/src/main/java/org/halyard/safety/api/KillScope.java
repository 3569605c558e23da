package org.halyard.safety.api;

import java.util.Objects;

/**
 * What a kill switch covers.
 *
 * @param type the kind of scope
 * @param value the model, mode, tenant, tool or source name; empty for {@link Type#GLOBAL}
 */
public record KillScope(Type type, String value) {

    /** Kinds of scope. */
    public enum Type {
        /** All traffic on the node. */
        GLOBAL,
        /** One served model. */
        MODEL,
        /** One serving mode. */
        MODE,
        /** One tenant (API key). */
        TENANT,
        /** One tool: calls to it are refused. */
        TOOL,
        /** One retrieval source: it is no longer queried. */
        RETRIEVAL_SOURCE
    }

    /** The scope covering everything. */
    public static final KillScope GLOBAL = new KillScope(Type.GLOBAL, "");

    public KillScope {
        Objects.requireNonNull(type, "type");
        value = value == null ? "" : value;
        if (type != Type.GLOBAL && value.isEmpty()) {
            throw new IllegalArgumentException(type + " scope needs a name");
        }
    }

    /** Parses {@code global} or {@code type:name} (for example {@code model:demo}). */
    public static KillScope parse(String s) {
        String t = s.trim();
        if (t.equalsIgnoreCase("global")) {
            return GLOBAL;
        }
        int i = t.indexOf(':');
        if (i <= 0) {
            throw new IllegalArgumentException("scope must be 'global' or 'type:name', with type one of "
                    + "model, mode, tenant, tool, retrieval_source: " + s);
        }
        Type type;
        try {
            type = Type.valueOf(t.substring(0, i).trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown scope type in '" + s + "'", e);
        }
        return new KillScope(type, t.substring(i + 1).trim());
    }

    @Override
    public String toString() {
        return type == Type.GLOBAL ? "global" : type.name().toLowerCase(java.util.Locale.ROOT) + ":" + value;
    }
}
