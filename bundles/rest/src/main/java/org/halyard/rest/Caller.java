package org.halyard.rest;

import java.util.Set;
import org.halyard.serving.api.Quota;

/**
 * Who is calling, after authentication: the API key's name (the tenant), its roles, its default
 * serving mode and its quota. Never holds the key itself.
 *
 * @param tenant the key's name, or {@code anonymous} under open access
 * @param roles {@code user}, {@code admin}
 * @param defaultMode the mode used when a request names none; empty for the server default
 * @param quota what the key may use
 */
public record Caller(String tenant, Set<String> roles, String defaultMode, Quota quota) {

    /** Role for the OpenAI-compatible endpoints. */
    public static final String USER = "user";

    /** Role for the admin endpoints. */
    public static final String ADMIN = "admin";

    public Caller {
        roles = Set.copyOf(roles);
        defaultMode = defaultMode == null ? "" : defaultMode;
        quota = quota == null ? Quota.UNLIMITED : quota;
    }

    /** Whether the caller has a role (admins may do what users may). */
    public boolean has(String role) {
        return roles.contains(role) || roles.contains(ADMIN);
    }
}
