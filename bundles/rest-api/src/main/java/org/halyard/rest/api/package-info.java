/**
 * The REST SPI, for bundles that add endpoints to Halyard's REST API (a serving mode's own
 * endpoints, such as the batch mode's {@code /v1/files} and {@code /v1/batches}):
 *
 * <ul>
 *   <li>{@link ApiAccess}: who is calling (API keys, open access, roles) as a {@link Caller};</li>
 *   <li>{@link ApiException} and {@link ApiError}: errors in OpenAI's shape, which the REST bundle's
 *       exception mapper passes through unchanged for every resource of the JAX-RS whiteboard's
 *       default application;</li>
 *   <li>{@link OpenAiEndpoints}: the OpenAI generation endpoints as a service, to run a request
 *       body the way {@code POST /v1/chat/completions} would, without HTTP (batch lines).</li>
 * </ul>
 *
 * <p>A resource in another bundle registers with {@code @JaxrsResource @JSONRequired}: the REST
 * bundle's JSON provider and exception mapper apply to it as to its own resources.
 */
@Export
@Version("1.0.0")
package org.halyard.rest.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
