package org.halyard.core.api;

import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A component that reports its health. Register one as an OSGi service and {@code /health},
 * {@code /ready} and {@code halyard:status} include it; plugins register their own.
 *
 * <p>{@link #health()} is called on request threads and must answer quickly from state the
 * component already holds: no I/O, no locks held by request processing.
 */
@ConsumerType
public interface HealthContributor {

    /** Service property: the component name, for filtering. */
    String COMPONENT = "halyard.component";

    /** The current health of each part this contributor watches (one or more entries). */
    List<Health> health();
}
