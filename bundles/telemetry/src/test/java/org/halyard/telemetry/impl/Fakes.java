package org.halyard.telemetry.impl;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvCheck;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.SchedulerLoad;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;

/** Small stand-ins for the scheduler and KV Cache++ (built elsewhere). */
final class Fakes {

    private Fakes() {
    }

    static RequestRecord record(String id, String model, String mode, Outcome outcome, int prompt, int output,
            long queueMillis, Long ttftMillis, long totalMillis) {
        return new RequestRecord(id, "tenant-a", mode, model, "/v1/chat/completions", outcome, "stop", 200,
                prompt, 0, output, Instant.parse("2025-01-01T00:00:00Z"), Duration.ofMillis(queueMillis),
                ttftMillis == null ? null : Duration.ofMillis(ttftMillis), Duration.ofMillis(totalMillis),
                List.of(), "a prompt", "an output", Map.of());
    }

    static final class FakeScheduler implements Scheduler {
        volatile List<RequestStatus> held = List.of();

        @Override
        public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<RequestStatus> requests() {
            return held;
        }

        @Override
        public SchedulerLoad load(String model, PriorityClass priority) {
            return new SchedulerLoad(priority, 0, 0, 0, 0, 0);
        }
    }

    static RequestStatus status(String model, String mode, RequestStatus.State state) {
        return new RequestStatus("r-" + System.nanoTime(), model, mode, PriorityClass.INTERACTIVE, state, 10, 0, 0,
                Duration.ZERO);
    }

    static final class FakeCache implements KvCache {
        final KvCacheSpec spec;
        volatile KvUsage usage;

        FakeCache(String name, KvUsage usage) {
            this.spec = new KvCacheSpec(name, "v1", new KvLayout(4, 2, 32), KvDType.F32, usage.capacityBytes());
            this.usage = usage;
        }

        @Override public KvCacheSpec spec() { return spec; }
        @Override public int blockSizeTokens() { return usage.blockSizeTokens(); }
        @Override public KvSequence open(String id, int[] prompt, KvSequenceOptions o) { throw new UnsupportedOperationException(); }
        @Override public boolean allocate(KvSequence s, int n) { throw new UnsupportedOperationException(); }
        @Override public void release(KvSequence s) { throw new UnsupportedOperationException(); }
        @Override public KvUsage usage() { return usage; }
        @Override public void drop() { throw new UnsupportedOperationException(); }
        @Override public KvCheck check() { throw new UnsupportedOperationException(); }
        @Override public void close() { }
    }

    static final class FakeKvManager implements KvCacheManager {
        volatile List<KvCache> caches = List.of();

        @Override
        public KvCache create(KvCacheSpec spec) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<KvCache> caches() {
            return caches;
        }
    }
}
