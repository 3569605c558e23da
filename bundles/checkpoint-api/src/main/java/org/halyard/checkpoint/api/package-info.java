/**
 * The checkpoint SPI: a repository of model weights (raw and EMA snapshots) and versioned router
 * and retriever states, each verified by digest, from which model deployments are composed.
 */
@Export
@Version("1.0.0")
package org.halyard.checkpoint.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
