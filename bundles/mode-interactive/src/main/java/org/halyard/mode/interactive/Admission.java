package org.halyard.mode.interactive;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.halyard.safety.api.Kill;
import org.halyard.safety.api.KillScope;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.Criticality;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.ModeLimits;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.QuotaLedger;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.RejectedException.Reason;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.SchedulerLoad;

/**
 * Admission control of one serving mode, in the order a request meets it:
 *
 * <ol>
 *   <li>the kill switch (global, this mode, the model, the tenant): 503;</li>
 *   <li>the mode's limits on prompt and output length: 400;</li>
 *   <li>the caller's quota (concurrent requests, requests and tokens per minute, as token
 *       buckets refilled continuously): 429 with the time until the bucket holds enough;</li>
 *   <li>the queue bounds, in requests and in prompt tokens, and the bound on requests in flight,
 *       each scaled by the request's criticality (sheddable requests are shed first, critical
 *       ones last): 503 with the time the scheduler needs to work off what waits.</li>
 * </ol>
 *
 * The checks and the hand-off to the scheduler happen under one lock, so concurrent requests
 * cannot all pass a bound that only one of them fits; the lock is held for microseconds (the
 * scheduler's submit only queues). Nothing here blocks on the engine.
 */
final class Admission {

    /** The tuning in force; replaced as a whole on a configuration change. */
    record Policy(ModeLimits limits, double sheddableShare, double criticalHeadroom, Duration defaultDeadline) {
    }

    private final String mode;
    private final PriorityClass priority;
    private final Object lock = new Object();
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Per tenant; tenants are API key names, so this holds at most one entry per configured key. */
    private final QuotaLedger quotas;

    Admission(String mode, PriorityClass priority, LongSupplier nanoClock) {
        this.mode = mode;
        this.priority = priority;
        this.quotas = new QuotaLedger(nanoClock);
    }

    int inFlight() {
        return inFlight.get();
    }


    GenerationHandle admit(GenerationRequest request, GenerationListener listener, Policy policy,
            Scheduler scheduler, KillSwitch kill) throws RejectedException {
        ModeLimits limits = policy.limits();
        if (kill != null) {
            var k = kill.check(new KillScope(KillScope.Type.MODE, mode), new KillScope(KillScope.Type.MODEL, request.model()),
                    new KillScope(KillScope.Type.TENANT, request.tenant()));
            if (k.isPresent()) {
                Kill engaged = k.get();
                throw new RejectedException(Reason.UNAVAILABLE, "Serving is stopped by a kill switch (" + engaged.scope()
                        + (engaged.reason().isEmpty() ? "" : ": " + engaged.reason()) + "); retry later.",
                        Duration.ofSeconds(30));
            }
        }
        if (request.promptLength() > limits.maxPromptTokens()) {
            throw new RejectedException(Reason.INVALID, "The prompt has " + request.promptLength()
                    + " tokens; the " + mode + " mode accepts at most " + limits.maxPromptTokens()
                    + ". Shorten it or use another mode.");
        }
        if (request.maxTokens() > limits.maxOutputTokens()) {
            throw new RejectedException(Reason.INVALID, "max_tokens is " + request.maxTokens() + "; the " + mode
                    + " mode allows at most " + limits.maxOutputTokens() + ".");
        }
        long cost = (long) request.promptLength() + request.maxTokens();
        GenerationRequest.Builder b = request.toBuilder().mode(mode).priority(priority);
        if (request.deadline() == null && !policy.defaultDeadline().isZero()) {
            b.deadline(Instant.now().plus(policy.defaultDeadline()));
        }
        GenerationRequest admitted = b.build();
        GenerationHandle handle;
        synchronized (lock) {
            QuotaLedger.Entry quota = quotas.take(request.tenant(), request.quota(), cost);
            try {
                checkLoad(request, policy, scheduler);
                handle = scheduler.submit(admitted, listener);
            } catch (RejectedException | RuntimeException e) {
                if (quota != null) {
                    quota.refund();
                }
                throw e;
            }
            inFlight.incrementAndGet();
            handle.completion().whenComplete((c, e) -> {
                inFlight.decrementAndGet();
                if (quota != null) {
                    quota.release();
                }
            });
        }
        return handle;
    }

    private void checkLoad(GenerationRequest r, Policy policy, Scheduler scheduler) throws RejectedException {
        ModeLimits limits = policy.limits();
        double share = switch (r.criticality()) {
            case SHEDDABLE -> policy.sheddableShare();
            case DEFAULT -> 1.0;
            case CRITICAL -> policy.criticalHeadroom();
        };
        SchedulerLoad load = scheduler.load(r.model(), priority);
        String who = r.criticality() == Criticality.DEFAULT ? "" : " for " + r.criticality().name().toLowerCase() + " requests";
        if (inFlight.get() >= Math.max(1, (long) Math.floor((limits.maxRunning() + limits.maxQueuedRequests()) * share))) {
            throw overload("The " + mode + " mode is at capacity (" + inFlight.get() + " requests in flight" + who
                    + "); retry after the Retry-After interval.", load);
        }
        // requests that just arrived wait for the next step even when the batch has room: only
        // those beyond the free running slots are queued
        long queued = load.waiting() - Math.max(0, limits.maxRunning() - load.running());
        if (queued >= Math.max(1, (long) Math.floor(limits.maxQueuedRequests() * share))) {
            throw overload("The " + mode + " queue is full (" + queued + " requests waiting" + who
                    + "); retry after the Retry-After interval.", load);
        }
        if (load.waitingTokens() + r.promptLength() > limits.maxQueuedTokens() * share && load.waiting() > 0) {
            throw overload("The " + mode + " queue holds " + load.waitingTokens() + " prompt tokens" + who
                    + ", its bound is " + limits.maxQueuedTokens() + "; retry after the Retry-After interval.", load);
        }
    }

    private static RejectedException overload(String message, SchedulerLoad load) {
        double rate = load.tokensPerSecond();
        long seconds = rate <= 0 ? 1 : (long) Math.ceil(load.waitingTokens() / rate);
        return new RejectedException(Reason.OVERLOAD, message, Duration.ofSeconds(Math.max(1, Math.min(30, seconds))));
    }

}
