/**
 * The tool SPI: tools a model may call through OpenAI-style function calling. Only allow-listed
 * tools are offered and invoked, and every call and result passes the safety pipeline's tool stage.
 */
@Export
@Version("1.0.0")
package org.halyard.tool.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
