package org.halyard.scheduler.impl;

import java.time.Duration;
import org.halyard.kvcache.api.KvDType;

/**
 * The scheduler's tuning, as read from its configuration; immutable, replaced as a whole when the
 * configuration changes (each loop reads it once per step).
 *
 * @param maxBatchTokens tokens one step may feed (decode tokens plus prefill chunks)
 * @param maxBatchSequences sequences one step may carry
 * @param maxPrefillChunkTokens the most prompt tokens of one request fed in one step
 * @param maxWaitingRequests requests that may wait per model before submit answers OVERLOAD
 * @param kvCapacityBytes the hot KV pool per model version; 0 for KV Cache++'s default
 * @param kvDType block type of the sequences the scheduler opens
 * @param prefixCaching whether sequences share cached prefixes
 * @param prefixCachePerTenant whether prefixes are shared only within one tenant
 * @param drain how long stopping the scheduler waits for held requests to finish
 * @param interactivePrefillFirst whether a waiting interactive request whose prompt fits one chunk
 *     is prefilled in a step of its own ahead of the running decodes (never twice in a row), so
 *     its first token does not wait for the batch's decode work
 * @param maxBatchClassTokens the most tokens of {@link org.halyard.serving.api.PriorityClass#BATCH}
 *     requests one step may feed (decodes plus prefill chunks); 0 for no cap beyond
 *     {@code maxBatchTokens}. A step cannot be interrupted, so this bounds how long an interactive
 *     request that arrives during a step of batch work waits for the next step
 * @param maxUltraLongClassTokens the most tokens of {@link
 *     org.halyard.serving.api.PriorityClass#ULTRA_LONG} requests one step may feed while
 *     interactive requests are running or waiting; 0 for no cap beyond {@code maxBatchTokens}.
 *     Without interactive work, ultra-long prompts are prefilled in whole chunks. A step cannot be
 *     interrupted, so this bounds how much a long document's prefill lengthens each interactive
 *     decode step
 */
record Settings(int maxBatchTokens, int maxBatchSequences, int maxPrefillChunkTokens,
        int maxWaitingRequests, long kvCapacityBytes, KvDType kvDType, boolean prefixCaching,
        boolean prefixCachePerTenant, Duration drain, boolean interactivePrefillFirst, int maxBatchClassTokens,
        int maxUltraLongClassTokens) {

    static final Settings DEFAULT = new Settings(512, 64, 256, 1024, 0, KvDType.F32, true, false,
            Duration.ofSeconds(30), true, 32, 64);

    Settings {
        if (maxBatchTokens < 1 || maxBatchSequences < 1 || maxPrefillChunkTokens < 1 || maxWaitingRequests < 0
                || maxBatchClassTokens < 0 || maxUltraLongClassTokens < 0) {
            throw new IllegalArgumentException("maxBatchTokens, maxBatchSequences and maxPrefillChunkTokens must "
                    + "be at least 1, maxWaitingRequests, maxBatchClassTokens and maxUltraLongClassTokens not negative");
        }
    }

    /** Settings without a cap on ultra-long tokens beside interactive work. */
    Settings(int maxBatchTokens, int maxBatchSequences, int maxPrefillChunkTokens, int maxWaitingRequests,
            long kvCapacityBytes, KvDType kvDType, boolean prefixCaching, boolean prefixCachePerTenant,
            Duration drain, boolean interactivePrefillFirst, int maxBatchClassTokens) {
        this(maxBatchTokens, maxBatchSequences, maxPrefillChunkTokens, maxWaitingRequests, kvCapacityBytes, kvDType,
                prefixCaching, prefixCachePerTenant, drain, interactivePrefillFirst, maxBatchClassTokens, 0);
    }
}
