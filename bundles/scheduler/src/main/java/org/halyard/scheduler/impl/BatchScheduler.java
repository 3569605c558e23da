package org.halyard.scheduler.impl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.halyard.engine.api.Model;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.RejectedException.Reason;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.SchedulerLoad;
import org.halyard.telemetry.api.Telemetry;

/**
 * The scheduler without OSGi: one {@link EngineLoop} (and thread) per served model instance,
 * the KV caches they share per model version, and validation of what is submitted. The DS
 * component {@link SchedulerComponent} feeds it models, providers and settings; tests drive it
 * directly with fakes.
 *
 * <p>While a deployment swaps a model, two instances of one name are served for a moment: new
 * requests go to the newest (highest ranking, then service id); the old loop finishes what it
 * holds and ends.
 */
class BatchScheduler implements Scheduler, Services {

    /** Request attribute naming the API path, for telemetry. */
    public static final String ENDPOINT_ATTRIBUTE = "endpoint";

    private static final Comparator<EngineLoop> NEWEST_FIRST = Comparator.comparingInt((EngineLoop l) -> l.ranking)
            .thenComparingLong(l -> l.serviceId).reversed();

    private final ExecutorService threads;
    private final List<EngineLoop> loops = new CopyOnWriteArrayList<>();
    private final Map<String, CacheLease> leases = new HashMap<>();
    private final AtomicLong arrivals = new AtomicLong();
    private volatile Settings settings;
    private volatile KvCacheManager kvCacheManager;
    private volatile Telemetry telemetry;
    private volatile KillSwitch killSwitch;
    private volatile boolean closed;

    BatchScheduler(Settings settings) {
        this.settings = settings;
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "halyard-engine-loop-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    // ---- configuration and providers ----

    void configure(Settings s) {
        this.settings = s;
    }

    void setKvCacheManager(KvCacheManager m) {
        this.kvCacheManager = m;
        loops.forEach(EngineLoop::wake);
    }

    void setTelemetry(Telemetry t) {
        this.telemetry = t;
    }

    void setKillSwitch(KillSwitch k) {
        this.killSwitch = k;
    }

    /** A model instance is served: starts its loop. */
    void addModel(Model model, String name, long serviceId, int ranking) {
        if (closed) {
            return;
        }
        EngineLoop loop = new EngineLoop(model, name, serviceId, ranking, this);
        loops.add(loop);
        threads.execute(loop);
    }

    /** A model instance is withdrawn: its loop finishes what it holds, then ends. */
    void removeModel(Model model) {
        for (EngineLoop l : loops) {
            if (l.model == model && !l.retiring) {
                l.retire();
                threads.execute(() -> {
                    try {
                        l.awaitEnd(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    loops.remove(l);
                });
            }
        }
    }

    /**
     * Stops: no new requests; held requests get up to the drain time to finish, the rest end with
     * an error; caches are closed.
     */
    void close() {
        closed = true;
        long end = System.nanoTime() + settings.drain().toNanos();
        loops.forEach(EngineLoop::retire);
        for (EngineLoop l : loops) {
            try {
                if (!l.awaitEnd(Math.max(0, (end - System.nanoTime()) / 1_000_000))) {
                    l.abort();
                    l.awaitEnd(10_000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                l.abort();
            }
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (leases) {
            for (CacheLease l : leases.values()) {
                closeQuietly(l);
            }
            leases.clear();
        }
    }

    // ---- Scheduler ----

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) throws RejectedException {
        EngineLoop loop = current(request.model());
        if (loop == null) {
            throw new RejectedException(Reason.NOT_FOUND, "The model '" + request.model()
                    + "' is not served here; GET /v1/models lists the models served.");
        }
        if (kvCacheManager == null) {
            throw new RejectedException(Reason.UNAVAILABLE, "The KV cache (KV Cache++) is not available right now; "
                    + "retry shortly.", Duration.ofSeconds(1));
        }
        int n = request.promptLength();
        if (n == 0) {
            throw new RejectedException(Reason.INVALID, "The prompt is empty; send at least one token of text.");
        }
        for (int i = 0; i < n; i++) {
            int t = request.promptToken(i);
            if (t < 0 || t >= loop.vocabSize) {
                throw new RejectedException(Reason.INVALID, "Prompt token " + t + " at position " + i
                        + " is not in the model's vocabulary of " + loop.vocabSize + " tokens.");
            }
        }
        checkContext(request, loop.contextLength);
        if (loop.held.containsKey(request.requestId())) {
            throw new RejectedException(Reason.INVALID, "A request with id " + request.requestId()
                    + " is already running.");
        }
        Settings s = settings;
        if (loop.waitingCount() >= s.maxWaitingRequests()) {
            throw new RejectedException(Reason.OVERLOAD, "The server is at capacity for model '" + request.model()
                    + "' (" + s.maxWaitingRequests() + " requests waiting); retry later.", retryAfter(loop));
        }
        return loop.submit(request, listener, arrivals.incrementAndGet());
    }

    /** Whether the request fits the model's context under its context policy (REJECT when it names none). */
    static void checkContext(GenerationRequest request, int ctx) throws RejectedException {
        int n = request.promptLength();
        ContextPolicy p = request.context() == null ? ContextPolicy.REJECT : request.context();
        switch (p.overflow()) {
            case REJECT -> {
                if ((long) n + request.maxTokens() > ctx) {
                    throw new RejectedException(Reason.INVALID, "The prompt (" + n + " tokens) plus max_tokens ("
                            + request.maxTokens() + ") exceeds the model's context of " + ctx + " tokens; "
                            + (n < ctx ? "set max_tokens to at most " + (ctx - n) + ", shorten the prompt" : "shorten the prompt")
                            + ", or choose context_policy truncate or slide.");
                }
            }
            case TRUNCATE -> {
                if (request.maxTokens() >= ctx) {
                    throw new RejectedException(Reason.INVALID, "max_tokens (" + request.maxTokens() + ") must be below "
                            + "the model's context of " + ctx + " tokens under context_policy truncate, which keeps the "
                            + "prompt's last (context - max_tokens) tokens; lower max_tokens or use context_policy slide.");
                }
            }
            case SLIDE -> {
                int window = p.windowTokens() == 0 ? ctx : p.windowTokens();
                if (window > ctx) {
                    throw new RejectedException(Reason.INVALID, "The sliding window of " + window + " tokens is larger "
                            + "than the model's context of " + ctx + " tokens; the positions it would use were never "
                            + "trained. Use a window of at most " + ctx + ".");
                }
                if ((long) p.sinkTokens() + p.slideTokens() >= window) {
                    throw new RejectedException(Reason.INVALID, "The attention sinks (" + p.sinkTokens() + " tokens) plus "
                            + "the slide (" + p.slideTokens() + ") must leave room in the window of " + window + " tokens.");
                }
            }
        }
    }

    /** A hint for clients told to come back: the time to work off what waits now, 1 to 30 s. */
    static Duration retryAfter(EngineLoop loop) {
        long waitingTokens = 0;
        for (PriorityClass p : PriorityClass.values()) {
            waitingTokens += loop.load(p).waitingTokens();
        }
        double rate = loop.tokensPerSecond();
        long seconds = rate <= 0 ? 1 : (long) Math.ceil(waitingTokens / rate);
        return Duration.ofSeconds(Math.max(1, Math.min(30, seconds)));
    }

    @Override
    public List<RequestStatus> requests() {
        List<RequestStatus> all = new ArrayList<>();
        for (EngineLoop l : loops) {
            for (Sequence s : l.held.values()) {
                all.add(s.status());
            }
        }
        all.sort(Comparator.comparing((RequestStatus r) -> r.state() != RequestStatus.State.RUNNING)
                .thenComparing(RequestStatus::age, Comparator.reverseOrder()));
        return all;
    }

    @Override
    public SchedulerLoad load(String model, PriorityClass priority) {
        int running = 0;
        int waiting = 0;
        long waitingTokens = 0;
        double kv = 0;
        double rate = 0;
        boolean first = true;
        for (EngineLoop l : loops) {
            if (!l.name.equals(model)) {
                continue;
            }
            SchedulerLoad one = l.load(priority);
            running += one.running();
            waiting += one.waiting();
            waitingTokens += one.waitingTokens();
            if (first || !l.retiring) {
                kv = one.kvUsedFraction();
                rate = one.tokensPerSecond();
                first = false;
            }
        }
        return new SchedulerLoad(priority, running, waiting, waitingTokens, kv, rate);
    }

    /** The loop new requests for this model go to. */
    EngineLoop current(String model) {
        EngineLoop best = null;
        for (EngineLoop l : loops) {
            if (!l.retiring && l.name.equals(model) && (best == null || NEWEST_FIRST.compare(l, best) < 0)) {
                best = l;
            }
        }
        return best;
    }

    List<EngineLoop> loops() {
        return List.copyOf(loops);
    }

    // ---- Services (read by the loops) ----

    @Override
    public Settings settings() {
        return settings;
    }

    @Override
    public KvCacheManager kvCacheManager() {
        return kvCacheManager;
    }

    @Override
    public Telemetry telemetry() {
        return telemetry;
    }

    @Override
    public KillSwitch killSwitch() {
        return killSwitch;
    }

    @Override
    public CacheLease leaseCache(EngineLoop loop, KvCacheManager manager) {
        synchronized (leases) {
            CacheLease l = leases.get(loop.version);
            if (l != null && l.manager != manager) {
                leases.remove(loop.version);
                l = null; // the old manager's cache: its remaining holders return it
            }
            if (l == null) {
                Settings s = settings;
                l = new CacheLease(loop.version, manager.create(new KvCacheSpec(loop.name, loop.version,
                        loop.model.kvLayout(), s.kvDType(), s.kvCapacityBytes())), manager);
                leases.put(loop.version, l);
            }
            l.holders++;
            return l;
        }
    }

    @Override
    public void returnCache(CacheLease lease) {
        synchronized (leases) {
            if (--lease.holders <= 0) {
                if (leases.get(lease.version) == lease) {
                    leases.remove(lease.version);
                }
                closeQuietly(lease);
            }
        }
    }

    private static void closeQuietly(CacheLease l) {
        try {
            l.cache.close();
        } catch (RuntimeException e) {
            EngineLoop.LOG.debug("Closing a KV cache failed", e);
        }
    }
}
