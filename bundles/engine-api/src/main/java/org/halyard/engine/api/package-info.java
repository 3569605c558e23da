/**
 * The inference backend SPI: engines load models; a loaded {@link Model} runs batched steps over
 * KV Cache++ sequences and samples the next token of each.
 *
 * <pre>
 *   InferenceEngine.load(ModelSource) ─▶ Model ─┬─ tokenizer(), chatTemplate(), info()
 *                                              └─ step(List&lt;StepEntry&gt;) ─▶ StepResult
 *   StepEntry = SequenceState (tokens, sampling, logits processors) + KvSequence + the slice to feed
 * </pre>
 *
 * <p>A model is published as an OSGi {@code Model} service by whatever loaded it (the model
 * deployments of the {@code models} bundle), with the properties {@link Model#NAME} and
 * {@link Model#VERSION}; schedulers and the REST API track those services.
 */
@Export
@Version("1.0.0")
package org.halyard.engine.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
