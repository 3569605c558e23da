/**
 * The serving SPI: serving modes admit requests and hand them to the scheduler, which runs them
 * in continuous batches on a model.
 *
 * <pre>
 *   REST ─▶ ServingMode.submit ─ admission (kill switch, limits, quotas, queue bounds)
 *             └─▶ Scheduler.submit(GenerationRequest, GenerationListener) ─▶ GenerationHandle
 *                   └─ tokens ─▶ listener.onToken ... listener.onComplete(Completion)
 * </pre>
 *
 * <p>A request names its mode ({@code mode} field), else its API key's default applies, else
 * {@code interactive}. Modes are OSGi services with the property {@link ServingMode#MODE}; a
 * plugin may add its own.
 */
@Export
@Version("1.0.0")
package org.halyard.serving.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
