package org.halyard.rest;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.halyard.rest.api.Caller;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.Quota;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One API key, from a factory configuration {@code etc/org.halyard.rest.apikey-<name>.cfg}. The
 * key itself is never stored: only the hex SHA-256 of it ({@code printf %s "$KEY" | sha256sum}).
 * API keys are long random strings, so a fast hash is as safe as a slow one and keeps the check
 * cheap on every request. A change of the file applies at once (the component is re-created).
 */
@Component(service = ApiKey.class, configurationPid = ApiKey.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = ApiKey.Config.class, factory = true)
public class ApiKey {

    /** The factory PID. */
    public static final String PID = "org.halyard.rest.apikey";

    /** An API key's configuration. */
    @ObjectClassDefinition(name = "Halyard API key", description = "A client's API key (stored hashed), roles, default mode and quota")
    public @interface Config {

        @AttributeDefinition(description = "The key's name: the tenant in logs, metrics and quotas")
        String name();

        @AttributeDefinition(description = "Hex SHA-256 of the key: printf %s \"$KEY\" | sha256sum")
        String sha256();

        @AttributeDefinition(description = "Roles: user (the OpenAI endpoints), admin (also /admin/*)")
        String[] roles() default {Caller.USER};

        @AttributeDefinition(description = "Serving mode for requests that name none (interactive, batch, ultra-long)")
        String defaultMode() default "";

        @AttributeDefinition(description = "What this key's requests do past the model's context when they do not "
                + "say (context_policy): reject, truncate or slide; empty for the serving mode's choice")
        String contextPolicy() default "";

        @AttributeDefinition(description = "Requests of this key running at once; 0 for no limit")
        int concurrentRequests() default 0;

        @AttributeDefinition(description = "Requests per minute; 0 for no limit")
        int requestsPerMinute() default 0;

        @AttributeDefinition(description = "Prompt plus max_tokens tokens per minute; 0 for no limit")
        long tokensPerMinute() default 0;
    }

    private final byte[] hash;
    private final Caller caller;

    @Activate
    public ApiKey(Config c) {
        String hex = c.sha256() == null ? "" : c.sha256().trim().toLowerCase(Locale.ROOT);
        if (!hex.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException(PID + " '" + c.name() + "': sha256 must be 64 hex digits "
                    + "(printf %s \"$KEY\" | sha256sum)");
        }
        this.hash = HexFormat.of().parseHex(hex);
        Set<String> roles = Arrays.stream(c.roles()).flatMap(r -> Arrays.stream(r.split(",")))
                .map(String::trim).filter(r -> !r.isEmpty()).collect(Collectors.toSet());
        ContextPolicy.Overflow overflow = ContextPolicy.Overflow.parse(c.contextPolicy());
        if (overflow == null && c.contextPolicy() != null && !c.contextPolicy().isBlank()) {
            throw new IllegalArgumentException(PID + " '" + c.name() + "': contextPolicy must be reject, truncate "
                    + "or slide, not " + c.contextPolicy());
        }
        this.caller = new Caller(c.name(), roles, c.defaultMode(),
                new Quota(c.concurrentRequests(), c.requestsPerMinute(), c.tokensPerMinute()),
                overflow == null ? null : ContextPolicy.of(overflow));
    }

    /** The SHA-256 of the key. */
    byte[] hash() {
        return hash.clone();
    }

    /** Whether this is the key whose SHA-256 is given (constant time). */
    boolean matches(byte[] sha256) {
        return java.security.MessageDigest.isEqual(hash, sha256);
    }

    /** Who this key is. */
    Caller caller() {
        return caller;
    }
}
