/**
 * The retrieval SPI: retrievers return passages with their provenance; the retrieval service
 * queries only allow-listed sources and passes what they return through the safety pipeline's
 * retrieval stage before it reaches a prompt.
 */
@Export
@Version("1.0.0")
package org.halyard.retrieval.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
