package org.halyard.mode.interactive;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
import org.halyard.serving.api.Quota;
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
    private final LongSupplier nanoClock;
    private final Object lock = new Object();
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Per tenant; tenants are API key names, so this holds at most one entry per configured key. */
    private final Map<String, Caller> callers = new ConcurrentHashMap<>();

    Admission(String mode, PriorityClass priority, LongSupplier nanoClock) {
        this.mode = mode;
        this.priority = priority;
        this.nanoClock = nanoClock;
    }

    int inFlight() {
        return inFlight.get();
    }

    /** What one caller used: requests in flight and two token buckets. */
    static final class Caller {
        final AtomicInteger inFlight = new AtomicInteger();
        double requestTokens;
        double tokenTokens;
        long refilledNanos;
        boolean primed;
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
        Quota quota = request.quota();
        Caller caller = quota.unlimited() ? null : callers.computeIfAbsent(request.tenant(), t -> new Caller());
        long cost = (long) request.promptLength() + request.maxTokens();
        GenerationRequest.Builder b = request.toBuilder().mode(mode).priority(priority);
        if (request.deadline() == null && !policy.defaultDeadline().isZero()) {
            b.deadline(Instant.now().plus(policy.defaultDeadline()));
        }
        GenerationRequest admitted = b.build();
        GenerationHandle handle;
        synchronized (lock) {
            if (caller != null) {
                takeQuota(caller, quota, cost);
            }
            try {
                checkLoad(request, policy, scheduler);
                handle = scheduler.submit(admitted, listener);
            } catch (RejectedException | RuntimeException e) {
                if (caller != null) {
                    giveBack(caller, quota, cost);
                }
                throw e;
            }
            inFlight.incrementAndGet();
            if (caller != null) {
                caller.inFlight.incrementAndGet();
            }
        }
        handle.completion().whenComplete((c, e) -> {
            inFlight.decrementAndGet();
            if (caller != null) {
                caller.inFlight.decrementAndGet();
            }
        });
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

    /** Takes from the caller's buckets, or throws QUOTA saying when enough will be there. */
    private void takeQuota(Caller c, Quota q, long cost) throws RejectedException {
        synchronized (c) {
            refill(c, q);
            if (q.concurrentRequests() > 0 && c.inFlight.get() >= q.concurrentRequests()) {
                throw new RejectedException(Reason.QUOTA, "Your API key allows " + q.concurrentRequests()
                        + " requests at once and that many are running; wait for one to finish.", Duration.ofSeconds(1));
            }
            if (q.requestsPerMinute() > 0 && c.requestTokens < 1) {
                throw new RejectedException(Reason.QUOTA, "Your API key allows " + q.requestsPerMinute()
                        + " requests per minute and they are used up; retry after the Retry-After interval.",
                        wait(1 - c.requestTokens, q.requestsPerMinute()));
            }
            if (q.tokensPerMinute() > 0) {
                if (cost > q.tokensPerMinute()) {
                    throw new RejectedException(Reason.INVALID, "The prompt plus max_tokens (" + cost
                            + " tokens) exceeds your API key's " + q.tokensPerMinute()
                            + " tokens per minute; lower max_tokens or shorten the prompt.");
                }
                if (c.tokenTokens < cost) {
                    throw new RejectedException(Reason.QUOTA, "Your API key allows " + q.tokensPerMinute()
                            + " tokens per minute (prompt plus max_tokens) and this request needs " + cost
                            + " more than remain; retry after the Retry-After interval.",
                            wait(cost - c.tokenTokens, q.tokensPerMinute()));
                }
                c.tokenTokens -= cost;
            }
            if (q.requestsPerMinute() > 0) {
                c.requestTokens -= 1;
            }
        }
    }

    private void giveBack(Caller c, Quota q, long cost) {
        synchronized (c) {
            if (q.tokensPerMinute() > 0) {
                c.tokenTokens = Math.min(q.tokensPerMinute(), c.tokenTokens + cost);
            }
            if (q.requestsPerMinute() > 0) {
                c.requestTokens = Math.min(q.requestsPerMinute(), c.requestTokens + 1);
            }
        }
    }

    private void refill(Caller c, Quota q) {
        long now = nanoClock.getAsLong();
        if (!c.primed) {
            c.requestTokens = q.requestsPerMinute();
            c.tokenTokens = q.tokensPerMinute();
            c.refilledNanos = now;
            c.primed = true;
            return;
        }
        double minutes = (now - c.refilledNanos) / 60e9;
        c.refilledNanos = now;
        c.requestTokens = Math.min(q.requestsPerMinute(), c.requestTokens + minutes * q.requestsPerMinute());
        c.tokenTokens = Math.min(q.tokensPerMinute(), c.tokenTokens + minutes * q.tokensPerMinute());
    }

    private static Duration wait(double missing, long perMinute) {
        double seconds = missing * 60.0 / perMinute;
        return Duration.ofSeconds(Math.max(1, (long) Math.ceil(seconds)));
    }

    int callers() {
        return callers.size();
    }
}
