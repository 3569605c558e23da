/**
 * The safety SPI: classifiers judge content at four stages, a policy turns their verdicts into
 * one decision, token masks keep tokens out of the output, and the kill switch stops traffic by
 * scope.
 *
 * <pre>
 *   input ──▶ retrieval ──▶ (generation, token masks) ──▶ output ──▶ tool calls
 *     each stage: SafetyClassifier* ─▶ Verdict* ─▶ SafetyPolicy ─▶ Decision (allow/flag/redact/block)
 *   KillSwitch: checked at admission and at every step, by scope (global, model, mode, tenant, tool, source)
 * </pre>
 */
@Export
@Version("1.0.0")
package org.halyard.safety.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
