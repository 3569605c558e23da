package org.halyard.serving.api;

import org.halyard.kvcache.api.KvDType;

/**
 * How a request's keys and values are stored, as its serving mode chooses (the ultra-long mode:
 * INT8 blocks, offload to off-heap memory and disk, a memory budget). Requests without one get
 * the scheduler's configured block type, no offload and no budget of their own.
 *
 * @param dtype the block type; null for the scheduler's configured one
 * @param offload whether the request's cold blocks may leave the hot pool for off-heap memory
 *     and disk (read there in place)
 * @param maxBytes the most KV memory the request may hold in all tiers together; 0 for no limit
 *     beyond the pool's
 */
public record KvPolicy(KvDType dtype, boolean offload, long maxBytes) {

    public KvPolicy {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must not be negative: " + maxBytes);
        }
    }
}
