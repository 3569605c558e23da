/**
 * KV Cache++: the paged store of attention keys and values that every serving mode shares.
 *
 * <p>Ownership runs one way, as in vLLM v1: the scheduler opens a {@link KvSequence} per request
 * from a {@link KvCache}, asks for room before each step ({@link KvCache#allocate}) and decides
 * whom to preempt when there is none; the engine writes and reads keys and values only through
 * the sequence handed to it in a step. Block pools, block tables, prefix hashing, quantisation
 * and tiers stay inside the implementation.
 *
 * <pre>
 *   Scheduler ── open / allocate / commit / release ──▶ KvCache ──▶ blocks (hot, off-heap, disk)
 *   Engine ───── write / keyDots / valueSum ──────────▶ KvSequence (one request's block table)
 * </pre>
 */
@Export
@Version("1.0.0")
package org.halyard.kvcache.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
