package org.halyard.scheduler.impl;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.engine.api.Model;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvDType;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.SchedulerLoad;
import org.halyard.telemetry.api.Telemetry;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@link Scheduler} service: one engine loop per served {@link Model} service, KV caches from
 * {@link KvCacheManager}, steps and finished requests reported to {@link Telemetry}, the
 * {@link KillSwitch} consulted before every step. Providers are optional and dynamic: KV Cache++,
 * telemetry and the kill switch can be replaced while requests run.
 *
 * <p>Deactivation (a {@code bundle:update} of this bundle) drains: held requests get
 * {@code drain.seconds} to finish on this instance while the serving modes wait for the new one.
 */
@Component(configurationPid = SchedulerComponent.PID, service = {Scheduler.class, HealthContributor.class},
        property = HealthContributor.COMPONENT + "=scheduler")
@Designate(ocd = SchedulerComponent.Config.class)
public class SchedulerComponent implements Scheduler, HealthContributor {

    /** The configuration PID. */
    public static final String PID = "org.halyard.scheduler";

    /** The scheduler's configuration ({@code etc/org.halyard.scheduler.cfg}); changes apply live. */
    @ObjectClassDefinition(name = "Halyard scheduler",
            description = "Continuous batching: step token budget, batch size, prefill chunks, KV cache")
    public @interface Config {

        @AttributeDefinition(description = "Tokens one engine step may feed: decode tokens of running "
                + "requests plus prefill chunks of new ones")
        int maxBatchTokens() default 512;

        @AttributeDefinition(description = "Sequences one engine step may carry")
        int maxBatchSequences() default 64;

        @AttributeDefinition(description = "The most prompt tokens of one request fed in one step "
                + "(chunked prefill), so long prompts never stall decoding")
        int maxPrefillChunkTokens() default 256;

        @AttributeDefinition(description = "Requests that may wait per model before new ones are refused (503)")
        int maxWaitingRequests() default 1024;

        @AttributeDefinition(description = "Hot KV pool per model version in bytes; 0 for KV Cache++'s default")
        long kvCapacityBytes() default 0;

        @AttributeDefinition(description = "Block type of the KV sequences: F32, F16 or INT8")
        KvDType kvDType() default KvDType.F32;

        @AttributeDefinition(description = "Whether requests share the KV blocks of identical prompt prefixes")
        boolean prefixCaching() default true;

        @AttributeDefinition(description = "Whether prefixes are shared only between requests of one tenant")
        boolean prefixCachePerTenant() default false;

        @AttributeDefinition(description = "When the scheduler stops (bundle update), how long running "
                + "requests may take to finish (seconds)")
        int drain_seconds() default 30;

        @AttributeDefinition(description = "Prefill a waiting interactive request whose prompt fits one chunk "
                + "in a step of its own, ahead of the running decodes (never twice in a row): a shorter time "
                + "to first token for one extra step of the running requests")
        boolean interactivePrefillFirst() default true;

        @AttributeDefinition(description = "The most tokens of ultra-long requests one step may feed while "
                + "interactive requests are running or waiting (0 for no cap beyond maxBatchTokens): bounds how "
                + "much a long document's prefill lengthens each interactive decode step")
        int maxUltraLongClassTokens() default 64;
        @AttributeDefinition(description = "The most tokens of batch-class requests (the batch mode) one step may "
                + "feed, decodes plus prefill chunks; 0 for no cap beyond maxBatchTokens. A step cannot be "
                + "interrupted: this bounds how long an interactive request arriving during batch work waits")
        int maxBatchClassTokens() default 32;
    }

    private final BatchScheduler scheduler;

    @Activate
    public SchedulerComponent(Config config) {
        this.scheduler = new BatchScheduler(settings(config));
    }

    @Modified
    void modified(Config config) {
        scheduler.configure(settings(config));
    }

    @Deactivate
    void deactivate() {
        scheduler.close();
    }

    static Settings settings(Config c) {
        return new Settings(c.maxBatchTokens(), c.maxBatchSequences(), c.maxPrefillChunkTokens(),
                c.maxWaitingRequests(), c.kvCapacityBytes(), c.kvDType(), c.prefixCaching(),
                c.prefixCachePerTenant(), Duration.ofSeconds(Math.max(0, c.drain_seconds())),
                c.interactivePrefillFirst(), Math.max(0, c.maxBatchClassTokens()), c.maxUltraLongClassTokens());
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addModel(Model model, Map<String, Object> props) {
        Object name = props.get(Model.NAME);
        scheduler.addModel(model, name == null ? model.info().name() : name.toString(),
                ((Number) props.get(Constants.SERVICE_ID)).longValue(),
                props.get(Constants.SERVICE_RANKING) instanceof Integer r ? r : 0);
    }

    void removeModel(Model model) {
        scheduler.removeModel(model);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindKvCacheManager(KvCacheManager m) {
        scheduler.setKvCacheManager(m);
    }

    void unbindKvCacheManager(KvCacheManager m) {
        if (scheduler.kvCacheManager() == m) {
            scheduler.setKvCacheManager(null);
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindTelemetry(Telemetry t) {
        scheduler.setTelemetry(t);
    }

    void unbindTelemetry(Telemetry t) {
        if (scheduler.telemetry() == t) {
            scheduler.setTelemetry(null);
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindKillSwitch(KillSwitch k) {
        scheduler.setKillSwitch(k);
    }

    void unbindKillSwitch(KillSwitch k) {
        if (scheduler.killSwitch() == k) {
            scheduler.setKillSwitch(null);
        }
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) throws RejectedException {
        return scheduler.submit(request, listener);
    }

    @Override
    public List<RequestStatus> requests() {
        return scheduler.requests();
    }

    @Override
    public SchedulerLoad load(String model, PriorityClass priority) {
        return scheduler.load(model, priority);
    }

    @Override
    public List<Health> health() {
        var loops = scheduler.loops();
        Map<String, String> attrs = new LinkedHashMap<>();
        int held = 0;
        for (EngineLoop l : loops) {
            held += l.held.size();
            attrs.put("loop." + l.name + (l.retiring ? " (retiring)" : ""), l.held.size() + " requests, "
                    + l.steps() + " steps, " + Math.round(l.tokensPerSecond()) + " tokens/s");
        }
        attrs.put("requests", Integer.toString(held));
        if (scheduler.kvCacheManager() == null) {
            return List.of(new Health("scheduler", Health.Status.DEGRADED, false,
                    "waiting for KV Cache++ (no KvCacheManager service)", attrs));
        }
        return List.of(new Health("scheduler", Health.Status.UP, true,
                loops.size() + " engine loop(s), " + held + " request(s) held", attrs));
    }
}
