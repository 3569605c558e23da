package org.halyard.mode.batch;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.safety.api.Kill;
import org.halyard.safety.api.KillScope;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.ModeLimits;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.Quota;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.RejectedException.Reason;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.ServingMode;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The {@code batch} serving mode: requests scheduled in the lowest class
 * ({@link PriorityClass#BATCH}), which yields to interactive work within one engine step. Batch
 * lines ({@link BatchJobs}) come through it, and so do single requests that name
 * {@code "mode": "batch"}. Admission: the kill switch (503), the prompt and output limits (400), a
 * bound on requests in flight ({@code maxConcurrentLines + maxQueuedRequests}, 503) and the API
 * key's limit on concurrent requests (429); the key's per-minute quotas are for interactive
 * traffic and do not apply. No default deadline: a batch line carries its batch's window.
 */
@Component(configurationPid = BatchMode.PID, service = {ServingMode.class, HealthContributor.class},
        property = {ServingMode.MODE + "=" + BatchMode.NAME, HealthContributor.COMPONENT + "=mode/batch"})
@Designate(ocd = BatchConfig.class)
public class BatchMode implements ServingMode, HealthContributor {

    /** The configuration PID (shared with {@link BatchJobs}). */
    public static final String PID = "org.halyard.mode.batch";

    /** The mode's name. */
    public static final String NAME = "batch";

    private volatile BatchConfig config;
    private final Object admission = new Object();
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Per tenant (an API key name, so bounded by the keys configured): requests in flight. */
    private final Map<String, AtomicInteger> perTenant = new ConcurrentHashMap<>();

    private volatile Scheduler scheduler;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile KillSwitch killSwitch;

    @Activate
    public BatchMode(BatchConfig config) {
        this.config = config;
    }

    @Modified
    void modified(BatchConfig c) {
        this.config = c;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindScheduler(Scheduler s) {
        scheduler = s;
    }

    void unbindScheduler(Scheduler s) {
        if (scheduler == s) {
            scheduler = null;
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public PriorityClass priority() {
        return PriorityClass.BATCH;
    }

    @Override
    public ModeLimits limits() {
        BatchConfig c = config;
        return new ModeLimits(c.maxPromptTokens(), c.maxOutputTokens(), c.maxQueuedRequests(), Long.MAX_VALUE,
                c.maxConcurrentLines());
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) throws RejectedException {
        BatchConfig c = config;
        KillSwitch kill = killSwitch;
        if (kill != null) {
            Optional<Kill> k = kill.check(new KillScope(KillScope.Type.MODE, NAME),
                    new KillScope(KillScope.Type.MODEL, request.model()), new KillScope(KillScope.Type.TENANT, request.tenant()));
            if (k.isPresent()) {
                throw new RejectedException(Reason.UNAVAILABLE, "Batch serving is stopped by a kill switch ("
                        + k.get().scope() + (k.get().reason().isEmpty() ? "" : ": " + k.get().reason())
                        + "); retry later.", Duration.ofSeconds(30));
            }
        }
        if (request.promptLength() > c.maxPromptTokens()) {
            throw new RejectedException(Reason.INVALID, "The prompt has " + request.promptLength() + " tokens; the batch "
                    + "mode accepts at most " + c.maxPromptTokens() + ".");
        }
        if (request.maxTokens() > c.maxOutputTokens()) {
            throw new RejectedException(Reason.INVALID, "max_tokens is " + request.maxTokens() + "; the batch mode "
                    + "allows at most " + c.maxOutputTokens() + ".");
        }
        Scheduler s = scheduler;
        if (s == null) {
            throw new RejectedException(Reason.UNAVAILABLE, "No scheduler is running; retry shortly.", Duration.ofSeconds(5));
        }
        GenerationRequest admitted = request.toBuilder().mode(NAME).priority(PriorityClass.BATCH).build();
        Quota q = request.quota();
        AtomicInteger tenant = q.concurrentRequests() > 0
                ? perTenant.computeIfAbsent(request.tenant(), t -> new AtomicInteger()) : null;
        GenerationHandle h;
        synchronized (admission) {
            if (inFlight.get() >= c.maxConcurrentLines() + c.maxQueuedRequests()) {
                throw new RejectedException(Reason.OVERLOAD, "The batch mode is at capacity (" + inFlight.get()
                        + " requests in flight); retry after the Retry-After interval, or submit a batch.",
                        Duration.ofSeconds(5));
            }
            if (tenant != null && tenant.get() >= q.concurrentRequests()) {
                throw new RejectedException(Reason.QUOTA, "Your API key allows " + q.concurrentRequests()
                        + " requests at once and that many are running; wait for one to finish.", Duration.ofSeconds(1));
            }
            h = s.submit(admitted, listener);
            inFlight.incrementAndGet();
            if (tenant != null) {
                tenant.incrementAndGet();
            }
        }
        h.completion().whenComplete((x, e) -> {
            inFlight.decrementAndGet();
            if (tenant != null) {
                tenant.decrementAndGet();
            }
        });
        return h;
    }

    @Override
    public List<Health> health() {
        Map<String, String> attrs = Map.of("inFlight", Integer.toString(inFlight.get()),
                "maxConcurrentLines", Integer.toString(config.maxConcurrentLines()),
                "maxQueuedRequests", Integer.toString(config.maxQueuedRequests()));
        if (scheduler == null) {
            return List.of(new Health("mode/batch", Health.Status.DEGRADED, false, "waiting for a scheduler", attrs));
        }
        return List.of(new Health("mode/batch", Health.Status.UP, true, inFlight.get() + " request(s) in flight", attrs));
    }
}
