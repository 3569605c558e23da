package org.halyard.mode.interactive;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.safety.api.KillSwitch;
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
 * The {@code interactive} serving mode: chat and completions a person waits for. Scheduled in
 * the highest class, with strict limits and short queues, so that what is admitted starts at
 * once and what cannot be served soon is refused at once (503 with {@code Retry-After}) instead
 * of waiting. See {@link Admission} for the checks.
 *
 * <p>While the scheduler is being replaced ({@code bundle:update}), submissions wait up to
 * {@code schedulerWait.millis} for the new one instead of failing.
 */
@Component(configurationPid = InteractiveMode.PID, service = {ServingMode.class, HealthContributor.class},
        property = {ServingMode.MODE + "=" + InteractiveMode.NAME, HealthContributor.COMPONENT + "=mode/interactive"})
@Designate(ocd = InteractiveMode.Config.class)
public class InteractiveMode implements ServingMode, HealthContributor {

    /** The configuration PID. */
    public static final String PID = "org.halyard.mode.interactive";

    /** The mode's name. */
    public static final String NAME = "interactive";

    /** Configuration ({@code etc/org.halyard.mode.interactive.cfg}); changes apply live. */
    @ObjectClassDefinition(name = "Halyard interactive mode",
            description = "Admission limits, queue bounds and load shedding of the interactive mode")
    public @interface Config {

        @AttributeDefinition(description = "Longest prompt accepted (tokens)")
        int maxPromptTokens() default 8192;

        @AttributeDefinition(description = "Largest max_tokens accepted")
        int maxOutputTokens() default 2048;

        @AttributeDefinition(description = "Requests that may wait for the engine at once; more are refused (503)")
        int maxQueuedRequests() default 8;

        @AttributeDefinition(description = "Prompt tokens that may wait for prefill at once; more are refused (503)")
        long maxQueuedTokens() default 16384;

        @AttributeDefinition(description = "Requests of this mode that may run at once; with maxQueuedRequests "
                + "this bounds the requests in flight")
        int maxRunning() default 32;

        @AttributeDefinition(description = "Share of the bounds open to sheddable requests (0 to 1)")
        double sheddableShare() default 0.5;

        @AttributeDefinition(description = "Factor by which critical requests may exceed the bounds (>= 1)")
        double criticalHeadroom() default 1.5;

        @AttributeDefinition(description = "Deadline of requests that do not set one (seconds; 0 for none): "
                + "a request never waits longer than this")
        int defaultDeadline_seconds() default 300;

        @AttributeDefinition(description = "How long a submission waits for a scheduler while it is being "
                + "replaced (milliseconds)")
        int schedulerWait_millis() default 15000;
    }

    private final Admission admission = new Admission(NAME, PriorityClass.INTERACTIVE, System::nanoTime);
    private volatile Admission.Policy policy;
    private volatile long schedulerWaitMillis;

    private final SchedulerSlot scheduler = new SchedulerSlot();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile KillSwitch killSwitch;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile Telemetry telemetry;

    @Activate
    public InteractiveMode(Config config) {
        configure(config);
    }

    @Modified
    void modified(Config config) {
        configure(config);
    }

    private void configure(Config c) {
        if (c.maxPromptTokens() < 1 || c.maxOutputTokens() < 1 || c.maxQueuedRequests() < 0
                || c.maxQueuedTokens() < 0 || c.maxRunning() < 1) {
            throw new IllegalArgumentException(PID + ": limits must be positive (queue bounds may be 0)");
        }
        this.policy = new Admission.Policy(new ModeLimits(c.maxPromptTokens(), c.maxOutputTokens(),
                c.maxQueuedRequests(), c.maxQueuedTokens(), c.maxRunning()),
                Math.max(0, Math.min(1, c.sheddableShare())), Math.max(1, c.criticalHeadroom()),
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

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public PriorityClass priority() {
        return PriorityClass.INTERACTIVE;
    }

    @Override
    public ModeLimits limits() {
        return policy.limits();
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) throws RejectedException {
        Instant start = Instant.now();
        try {
            return admission.admit(request, listener, policy, scheduler.await(schedulerWaitMillis), killSwitch);
        } catch (RejectedException e) {
            record(request, start, e);
            throw e;
        }
    }

    private void record(GenerationRequest r, Instant start, RejectedException e) {
        Telemetry t = telemetry;
        if (t == null) {
            return;
        }
        try {
            t.record(new RequestRecord(r.requestId(), r.tenant(), NAME, r.model(), r.attributes().get("endpoint"),
                    Outcome.REJECTED, e.reason().name().toLowerCase(), e.reason().httpStatus(), r.promptLength(), 0, 0,
                    start, Duration.ZERO, null, Duration.between(start, Instant.now()), List.of(), null, null,
                    Map.of()));
        } catch (RuntimeException ignored) {
            // telemetry must never fail a request
        }
    }

    @Override
    public List<Health> health() {
        ModeLimits l = policy.limits();
        Map<String, String> attrs = Map.of("inFlight", Integer.toString(admission.inFlight()),
                "maxRunning", Integer.toString(l.maxRunning()), "maxQueuedRequests", Integer.toString(l.maxQueuedRequests()));
        if (scheduler.current() == null) {
            return List.of(new Health("mode/interactive", Health.Status.DEGRADED, false, "waiting for a scheduler", attrs));
        }
        return List.of(new Health("mode/interactive", Health.Status.UP, true,
                admission.inFlight() + " request(s) in flight", attrs));
    }
}
