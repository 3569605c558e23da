/**
 * Cross-cutting types every Halyard bundle may use: the health a component reports and the
 * context of the request a plugin is called for.
 *
 * <p>Kept apart from the area APIs so that it almost never changes: a change here refreshes
 * every Halyard bundle.
 */
@Export
@Version("1.0.0")
package org.halyard.core.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
