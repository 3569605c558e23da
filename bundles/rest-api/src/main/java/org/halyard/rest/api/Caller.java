package org.halyard.rest.api;

import java.util.Set;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.Quota;

/**
 * Who is calling, after authentication: the API key's name (the tenant), its roles, its default
 * serving mode and its quota. Never holds the key itself.
 *
 * @param tenant the key's name, or {@code anonymous} under open access
 * @param roles {@code user}, {@code admin}
 * @param defaultMode the mode used when a request names none; empty for the server default
 * @param quota what the key may use
 * @param contextPolicy what the key's requests do past the model's context when they do not say;
 *     null for the serving mode's choice
 */
public record Caller(String tenant, Set<String> roles, String defaultMode, Quota quota, ContextPolicy contextPolicy) {

    /** Role for the OpenAI-compatible endpoints. */
    public static final String USER = "user";

    /** Role for the admin endpoints. */
    public static final String ADMIN = "admin";

    public Caller {
        roles = Set.copyOf(roles);
        defaultMode = defaultMode == null ? "" : defaultMode;
        quota = quota == null ? Quota.UNLIMITED : quota;
    }

    /** A caller that leaves the context policy to the serving mode. */
    public Caller(String tenant, Set<String> roles, String defaultMode, Quota quota) {
        this(tenant, roles, defaultMode, quota, null);
    }

    /** Whether the caller has a role (admins may do what users may). */
    public boolean has(String role) {
        return roles.contains(role) || roles.contains(ADMIN);
    }
}
