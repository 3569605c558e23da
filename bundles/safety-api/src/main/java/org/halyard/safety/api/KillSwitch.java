package org.halyard.safety.api;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Stops traffic by scope, at once. Admission checks it before queueing and the scheduler at every
 * step, so engaging it ends running requests too ({@code content_filter}).
 */
@ProviderType
public interface KillSwitch {

    /** The first engaged kill among these scopes (and the global scope), if any. Fast: no I/O. */
    Optional<Kill> check(KillScope... scopes);

    /** Engages a kill (idempotent per scope) and opens an incident. */
    Kill engage(KillScope scope, String reason, String actor);

    /** Releases a kill; returns whether one was engaged. */
    boolean release(KillScope scope, String actor);

    /** Every engaged kill. */
    List<Kill> engaged();
}
