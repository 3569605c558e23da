package org.halyard.mode.ultralong;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.engine.api.Model;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvDType;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.ModeLimits;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.SchedulerSlot;
import org.halyard.serving.api.ServingMode;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.Telemetry;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@code ultra-long} serving mode: long documents, long conversations and agent traces,
 * with prompts far beyond the hot KV pool and past the model's trained context. Scheduled in
 * the ULTRA_LONG class (below interactive, above batch), so their prompts are prefilled in chunks
 * between the decode steps of interactive requests. Its requests store INT8 KV blocks that may
 * leave the hot pool for off-heap memory and disk, within a memory budget per sequence; by
 * default they slide a window past the context (attention sinks plus the latest tokens). See
 * {@link UltraLongAdmission} for what is refused up front, and {@code docs/ultralong.md}.
 *
 * <p>While the scheduler is being replaced ({@code bundle:update}), submissions wait up to
 * {@code schedulerWait.millis} for the new one instead of failing.
 */
@Component(configurationPid = UltraLongMode.PID, service = {ServingMode.class, HealthContributor.class},
        property = {ServingMode.MODE + "=" + UltraLongMode.NAME, HealthContributor.COMPONENT + "=mode/ultra-long"})
@Designate(ocd = UltraLongMode.Config.class)
public class UltraLongMode implements ServingMode, HealthContributor {

    /** The configuration PID. */
    public static final String PID = "org.halyard.mode.ultralong";

    /** The mode's name. */
    public static final String NAME = "ultra-long";

    /** KV block size assumed for the memory check until a cache of the model exists. */
    static final int DEFAULT_BLOCK_TOKENS = 16;

    /** Configuration ({@code etc/org.halyard.mode.ultralong.cfg}); changes apply live. */
    @ObjectClassDefinition(name = "Halyard ultra-long mode",
            description = "Limits, KV storage and context policy of the ultra-long mode")
    public @interface Config {

        @AttributeDefinition(description = "Longest prompt accepted (tokens); longer ones are refused (400)")
        int maxPromptTokens() default 131072;

        @AttributeDefinition(description = "Largest max_tokens accepted")
        int maxOutputTokens() default 4096;

        @AttributeDefinition(description = "Ultra-long sequences in flight (running or queued) on this node at once; "
                + "more are refused (429 with Retry-After)")
        int maxConcurrentSequences() default 2;

        @AttributeDefinition(description = "KV memory one sequence may hold in all tiers together (bytes); a request "
                + "that would need more is refused (400). 0 for no limit beyond the pool's")
        long maxBytesPerSequence() default 268_435_456L;

        @AttributeDefinition(description = "KV block type of this mode's requests: F32, F16 or INT8")
        String kvDType() default "INT8";

        @AttributeDefinition(description = "Whether this mode's sequences move their cold blocks to off-heap memory "
                + "and disk when the hot pool is full")
        boolean offload() default true;

        @AttributeDefinition(description = "What to do with requests longer than the model's context when they do "
                + "not say (the API key or request may): reject, truncate or slide")
        String contextPolicy() default "slide";

        @AttributeDefinition(description = "slide: tokens kept at the start for ever (attention sinks); rounded up "
                + "to whole KV blocks, 0 for one block")
        int sinkTokens() default 0;

        @AttributeDefinition(description = "slide: the most tokens the KV cache holds for a request, sinks included; "
                + "0 for the model's context")
        int windowTokens() default 0;

        @AttributeDefinition(description = "slide: tokens dropped at once when the window is full (whole KV blocks); "
                + "0 for a quarter of the window")
        int slideTokens() default 0;

        @AttributeDefinition(description = "Deadline of requests that do not set one (seconds; 0 for none)")
        int defaultDeadline_seconds() default 3600;

        @AttributeDefinition(description = "How long a submission waits for a scheduler while it is being replaced "
                + "(milliseconds)")
        int schedulerWait_millis() default 15000;
    }

    private final UltraLongAdmission admission = new UltraLongAdmission(NAME, System::nanoTime);
    private volatile UltraLongAdmission.Policy policy;
    private volatile long schedulerWaitMillis;
    private final List<Model> models = new CopyOnWriteArrayList<>();

    private final SchedulerSlot scheduler = new SchedulerSlot();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile KillSwitch killSwitch;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile Telemetry telemetry;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile KvCacheManager kvCacheManager;

    @Activate
    public UltraLongMode(Config config) {
        configure(config);
    }

    @Modified
    void modified(Config config) {
        configure(config);
    }

    private void configure(Config c) {
        if (c.maxPromptTokens() < 1 || c.maxOutputTokens() < 1 || c.maxConcurrentSequences() < 1
                || c.maxBytesPerSequence() < 0 || c.sinkTokens() < 0 || c.windowTokens() < 0 || c.slideTokens() < 0) {
            throw new IllegalArgumentException(PID + ": limits must be positive (sizes may be 0 for the defaults)");
        }
        KvDType dtype;
        try {
            dtype = KvDType.valueOf(c.kvDType().trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PID + ": kvDType must be F32, F16 or INT8, not " + c.kvDType());
        }
        ContextPolicy.Overflow overflow = ContextPolicy.Overflow.parse(c.contextPolicy());
        if (overflow == null) {
            throw new IllegalArgumentException(PID + ": contextPolicy must be reject, truncate or slide, not "
                    + c.contextPolicy());
        }
        this.policy = new UltraLongAdmission.Policy(c.maxPromptTokens(), c.maxOutputTokens(),
                c.maxConcurrentSequences(), c.maxBytesPerSequence(), dtype, c.offload(),
                new ContextPolicy(overflow, c.sinkTokens(), c.windowTokens(), c.slideTokens()),
                Duration.ofSeconds(Math.max(0, c.defaultDeadline_seconds())));
        this.schedulerWaitMillis = Math.max(0, c.schedulerWait_millis());
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindScheduler(Scheduler s) {
        scheduler.bind(s);
    }

    void unbindScheduler(Scheduler s) {
        scheduler.unbind(s);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addModel(Model m) {
        models.add(m);
    }

    void removeModel(Model m) {
        models.remove(m);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public PriorityClass priority() {
        return PriorityClass.ULTRA_LONG;
    }

    @Override
    public ModeLimits limits() {
        UltraLongAdmission.Policy p = policy;
        // nothing waits beyond the sequences admitted: the bound on sequences is the queue
        return new ModeLimits(p.maxPromptTokens(), p.maxOutputTokens(), 0, 0, p.maxConcurrentSequences());
    }

    @Override
    public ContextPolicy contextPolicy() {
        return policy.context();
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) throws RejectedException {
        Instant start = Instant.now();
        try {
            return admission.admit(request, listener, policy, shape(request.model()), scheduler.await(schedulerWaitMillis), killSwitch);
        } catch (RejectedException e) {
            record(request, start, e);
            throw e;
        }
    }

    /** The served model's KV layout, context and block size; null when no model of that name is served. */
    UltraLongAdmission.ModelShape shape(String name) {
        for (Model m : models) {
            if (m.info().name().equals(name)) {
                int block = DEFAULT_BLOCK_TOKENS;
                KvCacheManager kv = kvCacheManager;
                if (kv != null) {
                    for (KvCache c : kv.caches()) {
                        if (c.spec().modelVersion().equals(m.info().version())) {
                            block = c.blockSizeTokens();
                            break;
                        }
                    }
                }
                return new UltraLongAdmission.ModelShape(m.kvLayout(), m.info().contextLength(), block);
            }
        }
        return null;
    }

    private void record(GenerationRequest r, Instant start, RejectedException e) {
        Telemetry t = telemetry;
        if (t == null) {
            return;
        }
        try {
            t.record(new RequestRecord(r.requestId(), r.tenant(), NAME, r.model(), r.attributes().get("endpoint"),
                    Outcome.REJECTED, e.reason().name().toLowerCase(Locale.ROOT), e.reason().httpStatus(),
                    r.promptLength(), 0, 0, start, Duration.ZERO, null, Duration.between(start, Instant.now()), List.of(),
                    null, null, Map.of()));
        } catch (RuntimeException ignored) {
            // telemetry must never fail a request
        }
    }

    @Override
    public List<Health> health() {
        UltraLongAdmission.Policy p = policy;
        Map<String, String> attrs = Map.of("inFlight", Integer.toString(admission.inFlight()),
                "maxConcurrentSequences", Integer.toString(p.maxConcurrentSequences()),
                "maxBytesPerSequence", Long.toString(p.maxBytesPerSequence()), "kvDType", p.dtype().name(),
                "offload", Boolean.toString(p.offload()), "contextPolicy", p.context().overflow().apiName());
        if (scheduler.current() == null) {
            return List.of(new Health("mode/ultra-long", Health.Status.DEGRADED, false, "waiting for a scheduler", attrs));
        }
        return List.of(new Health("mode/ultra-long", Health.Status.UP, true,
                admission.inFlight() + " sequence(s) in flight", attrs));
    }
}
