package org.halyard.rest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import javax.ws.rs.core.HttpHeaders;
import org.halyard.serving.api.Quota;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Who may call: API keys ({@link ApiKey}) sent as {@code Authorization: Bearer <key>}, and
 * whether callers without a key are let in (open access, the demo default on a loopback-only
 * listener). Also the REST API's request limits. Configuration {@code etc/org.halyard.rest.cfg},
 * applied live.
 */
@Component(service = Access.class, configurationPid = Access.PID)
@Designate(ocd = Access.Config.class)
public class Access {

    /** The configuration PID. */
    public static final String PID = "org.halyard.rest";

    /** The REST API's configuration. */
    @ObjectClassDefinition(name = "Halyard REST API", description = "Access control and request limits of the REST API")
    public @interface Config {

        @AttributeDefinition(description = "Let callers without a valid API key in, with openAccessRoles. "
                + "Only for a listener that untrusted clients cannot reach")
        boolean openAccess() default false;

        @AttributeDefinition(description = "Roles of callers let in by open access (user, admin)")
        String[] openAccessRoles() default {Caller.USER};

        @AttributeDefinition(description = "Largest request body accepted (bytes); larger ones get 413")
        int maxRequestBytes() default 1_048_576;

        @AttributeDefinition(description = "Largest n (choices per prompt) accepted")
        int maxChoices() default 8;

        @AttributeDefinition(description = "Most prompts in one /v1/completions request")
        int maxPrompts() default 16;

        @AttributeDefinition(description = "Default serving mode when neither the request nor the API key names one")
        String defaultMode() default "interactive";
    }

    private final List<ApiKey> keys = new CopyOnWriteArrayList<>();
    private volatile Config config;
    private volatile Set<String> openRoles;

    @Activate
    public Access(Config config) {
        configure(config);
    }

    @Modified
    void configure(Config config) {
        this.config = config;
        this.openRoles = Arrays.stream(config.openAccessRoles()).flatMap(r -> Arrays.stream(r.split(",")))
                .map(String::trim).filter(r -> !r.isEmpty()).collect(Collectors.toSet());
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addKey(ApiKey key) {
        keys.add(key);
    }

    void removeKey(ApiKey key) {
        keys.remove(key);
    }

    /** The configuration in force. */
    public Config config() {
        return config;
    }

    /**
     * Authenticates a request and checks it has the role.
     *
     * @throws ApiException 401 without a valid key (unless access is open), 403 without the role
     */
    public Caller authenticate(HttpHeaders headers, String role) {
        String auth = headers == null ? null : headers.getHeaderString(HttpHeaders.AUTHORIZATION);
        Caller caller = null;
        if (auth != null && !auth.isBlank()) {
            String key = auth.trim();
            if (key.regionMatches(true, 0, "Bearer ", 0, 7)) {
                key = key.substring(7).trim();
            }
            byte[] h = sha256(key);
            for (ApiKey k : keys) {
                if (k.matches(h)) {
                    caller = k.caller();
                    break;
                }
            }
            if (caller == null && !config.openAccess()) {
                throw new ApiException(401, "The API key is not valid. Send a key configured on this server as "
                        + "'Authorization: Bearer <key>'.", null, "invalid_api_key");
            }
        }
        if (caller == null) {
            if (!config.openAccess()) {
                throw new ApiException(401, "No API key given. Send 'Authorization: Bearer <key>' with a key "
                        + "configured on this server.", null, "missing_api_key");
            }
            caller = new Caller(org.halyard.core.api.RequestContext.ANONYMOUS, openRoles, "", Quota.UNLIMITED);
        }
        if (!caller.has(role)) {
            throw new ApiException(403, "This endpoint needs the '" + role + "' role, which the caller '"
                    + caller.tenant() + "' does not have.", null, "permission_denied");
        }
        return caller;
    }

    static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
