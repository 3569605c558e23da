/**
 * Batch jobs as operators see them: the batch mode ({@code /v1/batches}) registers a
 * {@link BatchService}, which the Karaf shell ({@code halyard:batches}) lists, shows and
 * cancels through. Clients use the OpenAI Batch API instead.
 */
@Export
@Version("1.0.0")
package org.halyard.serving.api.batch;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
