package org.halyard.telemetry.api.metrics;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.halyard.telemetry.api.metrics.MetricFamily.Type;

/**
 * The catalogue of the metrics the telemetry bundle keeps. Names follow the OpenTelemetry GenAI
 * semantic conventions where they define one (the {@code gen_ai.server.*} histograms, with the
 * bucket boundaries the conventions ask for); everything else is under {@code halyard.}.
 * {@code docs/observability.md} explains each one and gives PromQL for it.
 *
 * <p>Label values come from bounded sets only: models and modes the node serves or is configured
 * for (anything else is counted under {@link #OTHER}), outcomes, states, layer and expert indexes.
 */
public final class HalyardMetrics {

    private HalyardMetrics() {
    }

    /**
     * Service property of the {@code com.codahale.metrics.MetricRegistry} service that holds these
     * metrics; exporters select it with {@code (halyard.metrics=*)}.
     */
    public static final String REGISTRY = "halyard.metrics";

    // ---- label keys ------------------------------------------------------------------------

    /** The served model's name ({@code gen_ai.request.model} in OpenTelemetry). */
    public static final String MODEL = "model";
    /** The serving mode ({@code halyard.mode}). */
    public static final String MODE = "mode";
    /** How the request ended: {@link org.halyard.telemetry.api.Outcome#label()}. */
    public static final String OUTCOME = "outcome";
    /** {@code input} or {@code output} ({@code gen_ai.token.type}). */
    public static final String TOKEN_TYPE = "token_type";
    /** A state: running/waiting, used/cached/free. */
    public static final String STATE = "state";
    /** A memory pool or storage tier. */
    public static final String POOL = "pool";
    /** {@code prefill} or {@code decode}. */
    public static final String PHASE = "phase";
    /** {@code hit} or {@code miss}. */
    public static final String RESULT = "result";
    /** A mixture-of-experts layer index. */
    public static final String LAYER = "layer";
    /** An expert index. */
    public static final String EXPERT = "expert";
    /** A garbage collector's name. */
    public static final String COLLECTOR = "collector";
    /** A request listener's (exporter's) name. */
    public static final String LISTENER = "listener";
    /** A label key, for the overflow counter. */
    public static final String LABEL = "label";

    /** The label value standing for any value outside the bounded set. */
    public static final String OTHER = "other";
    /** The label value standing for an empty value (a request rejected before its model was known). */
    public static final String NONE = "none";

    // ---- bucket boundaries (OpenTelemetry GenAI semantic conventions) ------------------------

    /** {@code gen_ai.server.time_to_first_token}, seconds. */
    public static final List<Double> TTFT_BUCKETS = List.of(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
            0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0);
    /** {@code gen_ai.server.time_per_output_token}, seconds. */
    public static final List<Double> TPOT_BUCKETS = List.of(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,
            0.4, 0.5, 0.75, 1.0, 2.5);
    /** {@code gen_ai.server.request.duration}, seconds. */
    public static final List<Double> DURATION_BUCKETS = List.of(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28,
            2.56, 5.12, 10.24, 20.48, 40.96, 81.92);
    /** Engine steps, seconds (Halyard's own: a step is far shorter than a request). */
    public static final List<Double> STEP_BUCKETS = List.of(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
            0.1, 0.25, 0.5, 1.0, 2.5, 5.0);

    // ---- requests, per model and mode -------------------------------------------------------

    public static final MetricFamily TIME_TO_FIRST_TOKEN = new MetricFamily("gen_ai.server.time_to_first_token",
            Type.HISTOGRAM, "s", "Time from arrival to the first output token, for successful requests.",
            List.of(MODEL, MODE), TTFT_BUCKETS);
    public static final MetricFamily TIME_PER_OUTPUT_TOKEN = new MetricFamily("gen_ai.server.time_per_output_token",
            Type.HISTOGRAM, "s", "Mean time per output token after the first, for successful requests with two or more output tokens.",
            List.of(MODEL, MODE), TPOT_BUCKETS);
    public static final MetricFamily REQUEST_DURATION = new MetricFamily("gen_ai.server.request.duration",
            Type.HISTOGRAM, "s", "Time from arrival to the last output token or the end of the request, by outcome.",
            List.of(MODEL, MODE, OUTCOME), DURATION_BUCKETS);
    public static final MetricFamily QUEUE_DURATION = new MetricFamily("halyard.server.queue.duration",
            Type.HISTOGRAM, "s", "Time from arrival to the request's first engine step, for requests that were admitted.",
            List.of(MODEL, MODE), TTFT_BUCKETS);
    public static final MetricFamily REQUESTS = new MetricFamily("halyard.server.requests",
            Type.COUNTER, "{request}", "Finished requests by outcome: ok, rejected, cancelled, error, blocked.",
            List.of(MODEL, MODE, OUTCOME), null);
    public static final MetricFamily TOKENS = new MetricFamily("halyard.server.tokens",
            Type.COUNTER, "{token}", "Prompt (input) and generated (output) tokens of finished requests.",
            List.of(MODEL, MODE, TOKEN_TYPE), null);
    public static final MetricFamily CACHED_TOKENS = new MetricFamily("halyard.server.tokens.cached",
            Type.COUNTER, "{token}", "Prompt tokens served from the prefix cache instead of being computed.",
            List.of(MODEL, MODE), null);

    // ---- scheduler, per model and mode ------------------------------------------------------

    public static final MetricFamily SCHEDULER_REQUESTS = new MetricFamily("halyard.scheduler.requests",
            Type.GAUGE, "{request}", "Requests the scheduler holds now: running (in the batch) or waiting (queued or preempted).",
            List.of(MODEL, MODE, STATE), null);

    // ---- KV cache, per model (cache) --------------------------------------------------------

    public static final MetricFamily KV_BLOCKS = new MetricFamily("halyard.kvcache.blocks",
            Type.GAUGE, "{block}", "KV blocks of the hot tier: used by sequences, cached for prefix reuse (evictable), or free.",
            List.of(MODEL, STATE), null);
    public static final MetricFamily KV_MEMORY = new MetricFamily("halyard.kvcache.memory",
            Type.GAUGE, "By", "Bytes of the KV hot tier: used, cached (evictable) and free; they add up to the capacity.",
            List.of(MODEL, STATE), null);
    public static final MetricFamily KV_CAPACITY = new MetricFamily("halyard.kvcache.capacity",
            Type.GAUGE, "By", "Capacity of the KV hot tier.", List.of(MODEL), null);
    public static final MetricFamily KV_OFFLOADED = new MetricFamily("halyard.kvcache.offloaded",
            Type.GAUGE, "By", "Bytes of KV blocks offloaded from the hot tier, by tier (offheap, disk).",
            List.of(MODEL, POOL), null);
    public static final MetricFamily KV_SEQUENCES = new MetricFamily("halyard.kvcache.sequences",
            Type.GAUGE, "{sequence}", "Open KV sequences (one per request holding KV).", List.of(MODEL), null);
    public static final MetricFamily KV_PREFIX_HIT_RATIO = new MetricFamily("halyard.kvcache.prefix_cache.hit_ratio",
            Type.GAUGE, "1", "Share of prompt tokens served from the prefix cache since the cache was created.",
            List.of(MODEL), null);
    public static final MetricFamily KV_PREFIX_TOKENS = new MetricFamily("halyard.kvcache.prefix_cache.tokens",
            Type.COUNTER, "{token}", "Prompt tokens looked up in the prefix cache: hit (reused) or miss (computed).",
            List.of(MODEL, RESULT), null);
    public static final MetricFamily KV_EVICTIONS = new MetricFamily("halyard.kvcache.evictions",
            Type.COUNTER, "{block}", "Cached KV blocks evicted to make room.", List.of(MODEL), null);
    public static final MetricFamily KV_DROPS = new MetricFamily("halyard.kvcache.drops",
            Type.COUNTER, "{drop}", "Times the whole KV cache was dropped (operator, drill or failed check).",
            List.of(MODEL), null);

    // ---- engine steps and mixture-of-experts routing, per model ------------------------------

    public static final MetricFamily STEP_DURATION = new MetricFamily("halyard.engine.step.duration",
            Type.HISTOGRAM, "s", "Wall time of one batched engine step.", List.of(MODEL), STEP_BUCKETS);
    public static final MetricFamily STEP_TOKENS = new MetricFamily("halyard.engine.step.tokens",
            Type.COUNTER, "{token}", "Tokens fed through the model by engine steps: prefill (prompt) or decode.",
            List.of(MODEL, PHASE), null);
    public static final MetricFamily ROUTER_TOKENS = new MetricFamily("halyard.moe.router.tokens",
            Type.COUNTER, "{token}", "Tokens routed by each mixture-of-experts layer.", List.of(MODEL, LAYER), null);
    public static final MetricFamily ROUTER_ENTROPY = new MetricFamily("halyard.moe.router.entropy",
            Type.COUNTER, "{nat}", "Summed router entropy of each mixture-of-experts layer, in nats; divided by the routed tokens it gives the mean entropy per token.",
            List.of(MODEL, LAYER), null);
    public static final MetricFamily EXPERT_TOKENS = new MetricFamily("halyard.moe.expert.tokens",
            Type.COUNTER, "{token}", "Tokens each expert of each mixture-of-experts layer processed (its load).",
            List.of(MODEL, LAYER, EXPERT), null);

    // ---- memory of the process --------------------------------------------------------------

    public static final MetricFamily HEAP_USED = new MetricFamily("halyard.memory.heap.used",
            Type.GAUGE, "By", "Java heap in use now, garbage included.", List.of(), null);
    public static final MetricFamily HEAP_LIVE = new MetricFamily("halyard.memory.heap.live",
            Type.GAUGE, "By", "Java heap still in use after the last full collection of the old generation: the live data, which an out-of-memory follows when it nears the limit.",
            List.of(), null);
    public static final MetricFamily HEAP_COMMITTED = new MetricFamily("halyard.memory.heap.committed",
            Type.GAUGE, "By", "Java heap the JVM has reserved from the operating system.", List.of(), null);
    public static final MetricFamily HEAP_LIMIT = new MetricFamily("halyard.memory.heap.limit",
            Type.GAUGE, "By", "The most heap the JVM may use (-Xmx).", List.of(), null);
    public static final MetricFamily OFFHEAP_USED = new MetricFamily("halyard.memory.offheap.used",
            Type.GAUGE, "By", "Memory outside the Java heap: direct buffers, mapped files (model weights), and the JVM's non-heap pools (metaspace, code).",
            List.of(POOL), null);
    public static final MetricFamily OFFHEAP_LIMIT = new MetricFamily("halyard.memory.offheap.limit",
            Type.GAUGE, "By", "The most direct-buffer memory the JVM may allocate (-XX:MaxDirectMemorySize, by default the heap limit).",
            List.of(), null);
    public static final MetricFamily PROCESS_RESIDENT = new MetricFamily("halyard.memory.process.resident",
            Type.GAUGE, "By", "Resident memory of the whole process (Linux), what the kernel's out-of-memory killer looks at.",
            List.of(), null);
    public static final MetricFamily PROCESS_LIMIT = new MetricFamily("halyard.memory.process.limit",
            Type.GAUGE, "By", "Memory the process may use: the container's (cgroup) limit, or the machine's memory when there is none.",
            List.of(), null);
    public static final MetricFamily GC_TIME = new MetricFamily("halyard.memory.gc.time",
            Type.COUNTER, "s", "Time spent in garbage collection, by collector; a rising share of wall time warns of a heap that is nearly full.",
            List.of(COLLECTOR), null);

    // ---- telemetry itself -------------------------------------------------------------------

    public static final MetricFamily RECORDS_DROPPED = new MetricFamily("halyard.telemetry.records.dropped",
            Type.COUNTER, "{record}", "Request records a listener (exporter) did not get because its queue was full.",
            List.of(LISTENER), null);
    public static final MetricFamily LISTENER_FAILURES = new MetricFamily("halyard.telemetry.listener.failures",
            Type.COUNTER, "{record}", "Request records a listener (exporter) threw on.", List.of(LISTENER), null);
    public static final MetricFamily LABEL_OVERFLOW = new MetricFamily("halyard.telemetry.label.overflow",
            Type.COUNTER, "{record}", "Records whose model or mode was not one the node knows, counted under the label value 'other'.",
            List.of(LABEL), null);

    /** Every family, in catalogue order. */
    public static final List<MetricFamily> ALL = List.of(TIME_TO_FIRST_TOKEN, TIME_PER_OUTPUT_TOKEN,
            REQUEST_DURATION, QUEUE_DURATION, REQUESTS, TOKENS, CACHED_TOKENS, SCHEDULER_REQUESTS, KV_BLOCKS,
            KV_MEMORY, KV_CAPACITY, KV_OFFLOADED, KV_SEQUENCES, KV_PREFIX_HIT_RATIO, KV_PREFIX_TOKENS,
            KV_EVICTIONS, KV_DROPS, STEP_DURATION, STEP_TOKENS, ROUTER_TOKENS, ROUTER_ENTROPY, EXPERT_TOKENS,
            HEAP_USED, HEAP_LIVE, HEAP_COMMITTED, HEAP_LIMIT, OFFHEAP_USED, OFFHEAP_LIMIT, PROCESS_RESIDENT,
            PROCESS_LIMIT, GC_TIME, RECORDS_DROPPED, LISTENER_FAILURES, LABEL_OVERFLOW);

    private static final Map<String, MetricFamily> BY_NAME = ALL.stream()
            .collect(Collectors.toUnmodifiableMap(MetricFamily::name, Function.identity()));

    /** The family of a name, if it is one of Halyard's. */
    public static Optional<MetricFamily> find(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }
}
