package org.halyard.rest.api;

import javax.ws.rs.core.HttpHeaders;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Authentication of REST callers, as the REST bundle configures it: API keys sent as
 * {@code Authorization: Bearer <key>} ({@code etc/org.halyard.rest.apikey-*.cfg}) and open access
 * ({@code etc/org.halyard.rest.cfg}). Endpoints of other bundles call it first, so that every
 * endpoint of the server authenticates alike.
 */
@ProviderType
public interface ApiAccess {

    /**
     * Authenticates a request and checks that the caller has the role.
     *
     * @param role {@link Caller#USER} or {@link Caller#ADMIN}
     * @return who is calling
     * @throws ApiException 401 without a valid key (unless access is open), 403 without the role
     */
    Caller authenticate(HttpHeaders headers, String role);
}
