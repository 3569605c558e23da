package org.halyard.scheduler.impl;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.halyard.engine.api.LayerRouting;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.SampledToken;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.engine.api.Tokenizer;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.safety.api.Kill;
import org.halyard.safety.api.KillScope;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.FinishReason;
import org.halyard.serving.api.GeneratedToken;
import org.halyard.serving.api.KvPolicy;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.SchedulerLoad;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.RouterLoad;
import org.halyard.telemetry.api.StepRecord;
import org.halyard.telemetry.api.Telemetry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine loop of one served model version: continuous batching at iteration level. Every
 * iteration builds one step of the model out of
 *
 * <ol>
 *   <li>the decode token of every running request (highest class first), then</li>
 *   <li>the next prefill chunk of running requests whose prompt is not computed yet, then</li>
 *   <li>the first chunk of waiting requests, interactive before ultra-long before batch,</li>
 * </ol>
 *
 * under a token budget ({@code maxBatchTokens}), so a long prompt is fed in chunks between decode
 * steps instead of stalling them. Before a sequence is fed, the loop asks the KV cache for room;
 * when there is none it preempts by recompute the lowest-class, newest running request not yet
 * in this step (its blocks are released and its tokens replayed later). Cancellation, deadlines
 * and the kill switch are checked before every step.
 *
 * <p>One thread runs the loop; {@link #submit} and {@link Sequence#cancel} are the only entries
 * from other threads (through a queue and a wake-up).
 */
final class EngineLoop implements Runnable {

    static final Logger LOG = LoggerFactory.getLogger(EngineLoop.class);

    private static final Comparator<Sequence> ORDER = Comparator
            .comparingInt((Sequence s) -> s.request.priority().ordinal()).thenComparingLong(s -> s.arrival);

    final Model model;
    final String name;
    final String version;
    final long serviceId;
    final int ranking;
    final int contextLength;
    final int vocabSize;
    private final Tokenizer tokenizer;
    private final int[] eos;
    private final Services services;

    private final ConcurrentLinkedQueue<Sequence> inbox = new ConcurrentLinkedQueue<>();
    final Map<String, Sequence> held = new ConcurrentHashMap<>();
    private final EnumMap<PriorityClass, ArrayDeque<Sequence>> waiting = new EnumMap<>(PriorityClass.class);
    private final List<Sequence> running = new ArrayList<>();
    private final Object signal = new Object();
    private boolean signalled;
    private final CountDownLatch ended = new CountDownLatch(1);

    /** No new requests; ends once the held ones are done. */
    volatile boolean retiring;
    /** Ends now, failing whatever is still held. */
    private volatile boolean aborting;
    private CacheLease lease;
    /** Tokens ultra-long requests may still feed in the step being planned. */
    private int ultraLongBudget;
    /** Tokens batch-class requests may still feed in the step being planned. */
    private int batchBudget;
    /** The last step prefilled new interactive requests only (the next one decodes). */
    private boolean lastStepPrefillOnly;
    /** Tokens fed per second, smoothed over recent steps. */
    private volatile double tokensPerSecond;
    private volatile long steps;

    EngineLoop(Model model, String name, long serviceId, int ranking, Services services) {
        this.model = model;
        this.name = name;
        this.version = model.info().version();
        this.serviceId = serviceId;
        this.ranking = ranking;
        this.contextLength = model.info().contextLength();
        this.tokenizer = model.tokenizer();
        this.vocabSize = tokenizer.vocabSize();
        this.eos = tokenizer.eos().clone();
        this.services = services;
        for (PriorityClass p : PriorityClass.values()) {
            waiting.put(p, new ArrayDeque<>());
        }
    }

    // ---- other threads ----

    /** Queues a validated request. */
    Sequence submit(org.halyard.serving.api.GenerationRequest request,
            org.halyard.serving.api.GenerationListener listener, long arrival) {
        int[] prompt = request.prompt();
        int truncated = 0;
        ContextPolicy policy = request.context();
        if (policy != null && policy.overflow() == ContextPolicy.Overflow.TRUNCATE
                && (long) prompt.length + request.maxTokens() > contextLength) {
            prompt = truncate(prompt, contextLength - request.maxTokens());
            truncated = request.promptLength() - prompt.length;
        }
        Sequence s = new Sequence(request, listener, this, arrival, tokenizer.streamDecoder(true), prompt, truncated);
        held.put(request.requestId(), s);
        inbox.add(s);
        wake();
        return s;
    }

    /**
     * The last {@code keep} tokens of a prompt (TRUNCATE); a leading BOS stays first, as the
     * model was trained to see one.
     */
    int[] truncate(int[] prompt, int keep) {
        int bos = tokenizer.bos();
        if (bos >= 0 && prompt.length > 0 && prompt[0] == bos && keep >= 2) {
            int[] out = new int[keep];
            out[0] = bos;
            System.arraycopy(prompt, prompt.length - keep + 1, out, 1, keep - 1);
            return out;
        }
        return java.util.Arrays.copyOfRange(prompt, prompt.length - keep, prompt.length);
    }

    void wake() {
        synchronized (signal) {
            signalled = true;
            signal.notifyAll();
        }
    }

    /** Stops taking requests; the loop ends when the held ones are done. */
    void retire() {
        retiring = true;
        wake();
    }

    /** Ends the loop now; held requests end with an error. */
    void abort() {
        retiring = true;
        aborting = true;
        wake();
    }

    boolean awaitEnd(long millis) throws InterruptedException {
        return ended.await(millis, TimeUnit.MILLISECONDS);
    }

    long steps() {
        return steps;
    }

    double tokensPerSecond() {
        return tokensPerSecond;
    }

    /** The load of one class now; safe from any thread. */
    SchedulerLoad load(PriorityClass priority) {
        int run = 0;
        int wait = 0;
        long waitTokens = 0;
        for (Sequence s : held.values()) {
            if (s.request.priority() != priority) {
                continue;
            }
            if (s.state == RequestStatus.State.RUNNING) {
                run++;
            } else {
                wait++;
                waitTokens += Math.max(0, s.length() - s.publishedComputed);
            }
        }
        double used = 0;
        CacheLease l = lease;
        if (l != null) {
            try {
                var u = l.cache.usage();
                used = u.capacityBytes() == 0 ? 0 : (double) u.usedBytes() / u.capacityBytes();
            } catch (RuntimeException e) {
                used = 0;
            }
        }
        return new SchedulerLoad(priority, run, wait, waitTokens, used, tokensPerSecond);
    }

    int waitingCount() {
        int n = 0;
        for (Sequence s : held.values()) {
            if (s.state != RequestStatus.State.RUNNING) {
                n++;
            }
        }
        return n;
    }

    // ---- the loop thread ----

    @Override
    public void run() {
        Thread.currentThread().setName("halyard-engine-loop-" + name);
        try {
            while (true) {
                drainInbox();
                if (aborting) {
                    failAll("the scheduler stopped before the request finished");
                    break;
                }
                Settings settings = services.settings();
                expire();
                if (running.isEmpty() && waitingEmpty()) {
                    if (retiring && inbox.isEmpty()) {
                        break;
                    }
                    await(100);
                    continue;
                }
                if (!ensureCache()) {
                    await(50);
                    continue;
                }
                List<Scheduled> plan = schedule(settings);
                if (plan.isEmpty()) {
                    await(5);
                    continue;
                }
                execute(plan);
            }
        } catch (Throwable t) {
            LOG.error("Engine loop of {} failed; failing its requests", name, t);
            failAll("the scheduler failed: " + t);
            if (t instanceof Error e && !(t instanceof OutOfMemoryError) && !(t instanceof LinkageError)) {
                throw e;
            }
        } finally {
            if (lease != null) {
                services.returnCache(lease);
                lease = null;
            }
            ended.countDown();
        }
    }

    private void await(long millis) throws InterruptedException {
        synchronized (signal) {
            if (!signalled) {
                signal.wait(millis);
            }
            signalled = false;
        }
    }

    private void drainInbox() {
        Sequence s;
        while ((s = inbox.poll()) != null) {
            waiting.get(s.request.priority()).addLast(s);
        }
    }

    private boolean waitingEmpty() {
        for (ArrayDeque<Sequence> q : waiting.values()) {
            if (!q.isEmpty()) {
                return false;
            }
        }
        return true;
    }

    /** Ends cancelled, expired and killed requests, queued or running. */
    private void expire() {
        Instant now = Instant.now();
        KillSwitch kill = services.killSwitch();
        List<Sequence> ending = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        List<FinishReason> why = new ArrayList<>();
        for (Sequence s : allHeld()) {
            if (s.cancelled) {
                ending.add(s);
                why.add(FinishReason.CANCELLED);
                reasons.add(null);
            } else if (s.request.deadline() != null && now.isAfter(s.request.deadline())) {
                ending.add(s);
                why.add(FinishReason.DEADLINE);
                reasons.add("the request's deadline passed after " + (s.state == RequestStatus.State.RUNNING
                        ? "it started" : "waiting in the queue"));
            } else if (kill != null) {
                Optional<Kill> k;
                try {
                    k = kill.check(new KillScope(KillScope.Type.MODEL, name),
                            new KillScope(KillScope.Type.MODE, s.request.mode()),
                            new KillScope(KillScope.Type.TENANT, s.request.tenant()));
                } catch (RuntimeException e) {
                    LOG.warn("Kill switch check failed", e);
                    k = Optional.empty();
                }
                if (k.isPresent()) {
                    ending.add(s);
                    why.add(FinishReason.CONTENT_FILTER);
                    reasons.add("stopped by the kill switch (" + k.get().scope() + "): " + k.get().reason());
                }
            }
        }
        for (int i = 0; i < ending.size(); i++) {
            end(ending.get(i), why.get(i), reasons.get(i));
        }
    }

    private List<Sequence> allHeld() {
        List<Sequence> all = new ArrayList<>(running);
        for (ArrayDeque<Sequence> q : waiting.values()) {
            all.addAll(q);
        }
        return all;
    }

    /** Makes sure the loop holds a cache of the current KV manager; false when there is none. */
    private boolean ensureCache() {
        KvCacheManager m = services.kvCacheManager();
        if (lease != null && lease.manager == m) {
            return true;
        }
        if (lease != null) {
            // KV Cache++ was replaced: its caches are gone; rebuild every sequence by re-prefill
            LOG.info("Engine loop {}: KV cache manager changed; re-prefilling {} running requests", name,
                    running.size());
            for (Sequence s : new ArrayList<>(running)) {
                requeue(s, false);
            }
            for (ArrayDeque<Sequence> q : waiting.values()) {
                for (Sequence s : q) {
                    dropKv(s);
                }
            }
            services.returnCache(lease);
            lease = null;
        }
        if (m == null) {
            return false;
        }
        try {
            lease = services.leaseCache(this, m);
        } catch (RuntimeException e) {
            LOG.error("Engine loop {}: creating a KV cache failed", name, e);
            return false;
        }
        return true;
    }

    private record Scheduled(Sequence seq, int count) {
    }

    /** Chooses this step's sequences and token counts, allocating KV room and preempting. */
    private List<Scheduled> schedule(Settings st) {
        int budget = st.maxBatchTokens();
        batchBudget = st.maxBatchClassTokens() == 0 ? Integer.MAX_VALUE : st.maxBatchClassTokens();
        ultraLongBudget = st.maxUltraLongClassTokens() == 0 || !interactiveWork() ? Integer.MAX_VALUE
                : st.maxUltraLongClassTokens();
        List<Scheduled> plan = new ArrayList<>();
        Set<Sequence> inPlan = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        running.sort(ORDER);

        // a sequence that failed inside a batch runs alone until a step of it succeeds
        Sequence suspect = running.stream().filter(s -> s.suspect).findFirst().orElse(null);
        if (suspect == null) {
            for (ArrayDeque<Sequence> q : waiting.values()) {
                if (!q.isEmpty() && q.peekFirst().suspect && running.isEmpty()) {
                    suspect = q.peekFirst();
                    break;
                }
            }
        }
        if (suspect != null) {
            if (suspect.state != RequestStatus.State.RUNNING) {
                if (!startWaiting(suspect)) {
                    return plan;
                }
            }
            int n = fitWindow(suspect, Math.min(suspect.pending(), Math.min(budget, st.maxPrefillChunkTokens())));
            if (n > 0 && room(suspect, n = fitBudget(suspect, n), inPlan)) {
                plan.add(new Scheduled(suspect, n));
            }
            return plan;
        }

        freeSlotsForHigherClasses(st);

        // 0. prefill-first: short interactive prompts get a step of their own, so their first
        //    token does not wait for the decode work of the whole batch
        boolean prefillOnly = st.interactivePrefillFirst() && !lastStepPrefillOnly && !running.isEmpty()
                && firstFitsOneChunk(waiting.get(PriorityClass.INTERACTIVE), st);
        lastStepPrefillOnly = false;
        if (prefillOnly) {
            admitWaiting(st, plan, inPlan, budget, PriorityClass.INTERACTIVE, true);
            if (!plan.isEmpty()) {
                lastStepPrefillOnly = true;
                return plan;
            }
        }

        // 1. decode tokens, 2. prefill chunks of running requests
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < running.size() && budget > 0; i++) {
                Sequence s = running.get(i);
                if (inPlan.contains(s) || s.decoding() != (pass == 0)) {
                    continue;
                }
                int n = classCap(s, Math.min(s.pending(), Math.min(budget, st.maxPrefillChunkTokens())));
                if (n <= 0) {
                    continue; // its class has its share of this step (batch work; ultra-long work beside interactive)
                }
                n = fitWindow(s, n);
                if (n < 0) {
                    i = -1; // it ended; restart the pass
                    continue;
                }
                n = fitBudget(s, n);
                if (!room(s, n, inPlan)) {
                    if (running.contains(s)) {
                        // nobody else to preempt: this request alone exceeds the pool
                        endForRoom(s);
                    }
                    i = -1; // the list changed; restart the pass (scheduled ones are skipped)
                    continue;
                }
                plan.add(new Scheduled(s, n));
                inPlan.add(s);
                budget -= n;
                charge(s, n);
            }
        }

        // 3. waiting requests, highest class first; a higher class may preempt a lower one
        for (PriorityClass p : PriorityClass.values()) {
            budget = admitWaiting(st, plan, inPlan, budget, p, false);
            if (budget < 0) {
                break;
            }
        }
        return plan;
    }

    /**
     * Preempts running requests of lower classes while requests of a higher class wait for a
     * place in the batch ({@code maxBatchSequences}): batch work never keeps an interactive
     * request out of the next step.
     */
    private void freeSlotsForHigherClasses(Settings st) {
        int free = st.maxBatchSequences() - running.size();
        for (PriorityClass p : PriorityClass.values()) {
            int want = waiting.get(p).size();
            while (want > free) {
                Sequence victim = victim(java.util.Collections.emptySet(), p);
                if (victim == null) {
                    break;
                }
                requeue(victim, true);
                free++;
            }
            free -= Math.min(free, want);
        }
    }

    private static boolean firstFitsOneChunk(ArrayDeque<Sequence> q, Settings st) {
        Sequence s = q.peekFirst();
        return s != null && !s.suspect && s.pending() <= Math.min(st.maxPrefillChunkTokens(), st.maxBatchTokens());
    }

    /**
     * Starts waiting requests of one class while budget and batch room last. Returns the budget
     * left, or -1 when no more waiting requests can start in this step (no KV room).
     *
     * @param wholeOnly only requests whose whole prompt fits one chunk (prefill-first steps)
     */
    private int admitWaiting(Settings st, List<Scheduled> plan, Set<Sequence> inPlan, int budget, PriorityClass p,
            boolean wholeOnly) {
        ArrayDeque<Sequence> q = waiting.get(p);
        while (!q.isEmpty() && budget > 0 && running.size() < st.maxBatchSequences()) {
            Sequence s = q.peekFirst();
            if (s.suspect || (wholeOnly && s.pending() > Math.min(budget, st.maxPrefillChunkTokens()))) {
                return -1;
            }
            if ((p == PriorityClass.BATCH && batchBudget <= 0) || (p == PriorityClass.ULTRA_LONG && ultraLongBudget <= 0)) {
                return budget; // this step has its share of this class's work; lower classes may still start
            }
            if (!openKv(s, st)) {
                if (!s.isDone()) {
                    return -1; // still waiting: the KV cache is being replaced
                }
                continue; // it was ended
            }
            int n = fitWindow(s, classCap(s, Math.min(s.pending(), Math.min(budget, st.maxPrefillChunkTokens()))));
            if (n < 0) {
                continue; // it ended
            }
            n = fitBudget(s, n);
            boolean ok = grow(s, n);
            while (!ok) {
                Sequence victim = victim(inPlan, p);
                if (victim == null) {
                    break;
                }
                requeue(victim, true);
                ok = grow(s, n);
            }
            if (!ok) {
                if (running.isEmpty() && plan.isEmpty()) {
                    q.pollFirst();
                    end(s, FinishReason.ERROR, "the request needs more KV cache than the pool holds ("
                            + (s.slot() + n) + " tokens); raise the KV capacity or shorten the prompt");
                    continue;
                }
                dropKv(s);
                return -1;
            }
            q.pollFirst();
            s.state = RequestStatus.State.RUNNING;
            running.add(s);
            if (s.firstScheduledNanos < 0) {
                s.firstScheduledNanos = System.nanoTime();
            }
            plan.add(new Scheduled(s, n));
            inPlan.add(s);
            budget -= n;
            charge(s, n);
        }
        return budget;
    }

    /** Whether interactive requests are running or waiting (ultra-long work then takes a capped share). */
    private boolean interactiveWork() {
        if (!waiting.get(PriorityClass.INTERACTIVE).isEmpty()) {
            return true;
        }
        for (Sequence s : running) {
            if (s.request.priority() == PriorityClass.INTERACTIVE) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code n} capped at what the sequence's class may still feed in this step: batch work
     * ({@code maxBatchClassTokens}), ultra-long work beside interactive work
     * ({@code maxUltraLongClassTokens}).
     */
    private int classCap(Sequence s, int n) {
        return switch (s.request.priority()) {
            case BATCH -> Math.min(n, Math.max(0, batchBudget));
            case ULTRA_LONG -> Math.min(n, Math.max(0, ultraLongBudget));
            default -> n;
        };
    }

    /** Counts {@code n} planned tokens against the class's share of the step. */
    private void charge(Sequence s, int n) {
        switch (s.request.priority()) {
            case BATCH -> batchBudget -= n;
            case ULTRA_LONG -> ultraLongBudget -= n;
            default -> {
                // interactive work has no share: it has the step
            }
        }
    }

    /** Moves a waiting suspect into the running list (it runs alone). */
    private boolean startWaiting(Sequence s) {
        if (!openKv(s, services.settings())) {
            return false;
        }
        waiting.get(s.request.priority()).remove(s);
        s.state = RequestStatus.State.RUNNING;
        running.add(s);
        if (s.firstScheduledNanos < 0) {
            s.firstScheduledNanos = System.nanoTime();
        }
        return true;
    }

    /**
     * Opens the KV sequence of a waiting request (sharing a cached prefix); ends it on failure,
     * except when the cache went away with a KV Cache++ being replaced: then the request keeps
     * waiting. False in both cases.
     */
    private boolean openKv(Sequence s, Settings st) {
        if (s.kv != null && !s.kv.valid()) {
            dropKv(s);
        }
        if (s.kv == null) {
            try {
                KvPolicy kp = s.request.kv();
                KvSequenceOptions opts = new KvSequenceOptions(
                        kp != null && kp.dtype() != null ? kp.dtype() : st.kvDType(), st.prefixCaching(),
                        kp != null ? kp.offload() : s.request.priority() == PriorityClass.ULTRA_LONG,
                        kp != null ? kp.maxBytes() : 0, st.prefixCachePerTenant() ? s.request.tenant() : "");
                // a sliding request looks up no more than its window: what lies beyond it in the
                // prefix cache was computed with all of its prefix in view, not with the window
                int lookup = s.length();
                if (s.slides()) {
                    resolveWindow(s);
                    lookup = Math.min(lookup, s.windowSlots);
                }
                s.kv = lease.cache.open(s.request.requestId(), java.util.Arrays.copyOf(s.tokenArray(), lookup), opts);
                s.computed = s.kv.length();
                s.evicted = 0;
                if (s.computed >= s.length()) {
                    // the cache must leave the last token to compute; never feed nothing
                    throw new IllegalStateException("KV cache opened " + s.computed + " of " + s.length()
                            + " tokens as cached");
                }
                if (s.cachedTokens < 0) {
                    s.cachedTokens = Math.min(s.kv.cachedPrefixLength(), s.promptLength());
                }
            } catch (RuntimeException e) {
                if (s.kv == null && services.kvCacheManager() != lease.manager) {
                    // KV Cache++ is being replaced and its caches closed under this step: not the
                    // request's fault; it waits for the next cache (ensureCache re-leases)
                    LOG.info("Engine loop {}: the KV cache went away while opening {}; waiting for the next one",
                            name, s.requestId());
                    return false;
                }
                LOG.warn("Engine loop {}: opening a KV sequence for {} failed", name, s.requestId(), e);
                end(s, FinishReason.ERROR, "the KV cache could not hold the request: " + e.getMessage());
                return false;
            }
        }
        return true;
    }

    /**
     * Makes room for {@code n} more tokens of a running sequence, preempting others (lowest class,
     * newest first, never one already in this step) as needed. False when {@code s} itself had
     * to go, or no one is left to preempt.
     */
    private boolean room(Sequence s, int n, Set<Sequence> inPlan) {
        if (!s.kv.valid()) {
            requeue(s, false);
            return false;
        }
        int need = s.slot() + n - s.kv.capacity();
        while (need > 0 && !lease.cache.allocate(s.kv, need)) {
            Sequence victim = null;
            for (Sequence r : running) {
                if (!inPlan.contains(r) && (victim == null || ORDER.compare(r, victim) > 0)) {
                    victim = r;
                }
            }
            if (victim == null || victim == s) {
                if (inPlan.isEmpty() && running.size() == 1) {
                    return false; // alone and still no room: the caller ends it
                }
                requeue(s, true);
                return false;
            }
            requeue(victim, true);
        }
        return true;
    }

    /**
     * A request with a KV budget ({@link KvPolicy#maxBytes()}) takes a smaller chunk rather than
     * pass it: blocks being written count at their open size (INT8 blocks are staged as F32), so a
     * long chunk can exceed a budget that the sealed blocks fit. Halves {@code n} until its room
     * is allocated (or one token is left, for the usual path to handle).
     */
    private int fitBudget(Sequence s, int n) {
        KvPolicy kp = s.request.kv();
        if (kp == null || kp.maxBytes() == 0 || s.kv == null || !s.kv.valid()) {
            return n;
        }
        while (n > 1) {
            int need = s.slot() + n - s.kv.capacity();
            if (need <= 0 || lease.cache.allocate(s.kv, need)) {
                return n;
            }
            n = Math.max(1, n / 2);
        }
        return n;
    }

    /** Allocates what {@code s} needs to feed {@code n} more tokens. */
    private boolean grow(Sequence s, int n) {
        int need = s.slot() + n - s.kv.capacity();
        return need <= 0 || lease.cache.allocate(s.kv, need);
    }

    /** A running request of a class below {@code p}, lowest and newest first, not in this step. */
    private Sequence victim(Set<Sequence> inPlan, PriorityClass p) {
        Sequence victim = null;
        for (Sequence r : running) {
            if (!inPlan.contains(r) && p.above(r.request.priority())
                    && (victim == null || ORDER.compare(r, victim) > 0)) {
                victim = r;
            }
        }
        return victim;
    }

    /** A running request that cannot get room even alone. */
    private void endForRoom(Sequence s) {
        if (s.computed >= s.promptLength() && s.length() > s.promptLength()) {
            end(s, FinishReason.LENGTH, null);
        } else {
            end(s, FinishReason.ERROR, "the request needs more KV cache than the pool holds (" + s.length()
                    + " tokens); raise the KV capacity or shorten the prompt");
        }
    }

    /** Preemption by recompute: frees the blocks and queues the request at the front of its class. */
    private void requeue(Sequence s, boolean preempted) {
        running.remove(s);
        dropKv(s);
        if (preempted) {
            s.preemptions++;
        }
        s.state = RequestStatus.State.PREEMPTED;
        waiting.get(s.request.priority()).addFirst(s);
    }

    private void dropKv(Sequence s) {
        if (s.kv != null) {
            try {
                if (lease != null) {
                    lease.cache.release(s.kv);
                }
            } catch (RuntimeException e) {
                LOG.debug("Releasing KV of {} failed", s.requestId(), e);
            }
            s.kv = null;
        }
        s.computed = 0;
        s.evicted = 0;
        s.publishedComputed = 0;
    }

    /**
     * SLIDE: the window's sizes in whole KV blocks. Sinks default to one block, the slide to a
     * quarter of what lies after the sinks; the window is at most the model's context.
     */
    private void resolveWindow(Sequence s) {
        int b = lease.cache.blockSizeTokens();
        ContextPolicy p = s.policy;
        int window = p.windowTokens() == 0 ? contextLength : Math.min(p.windowTokens(), contextLength);
        int sinks = roundUp(Math.max(1, p.sinkTokens()), b);
        int slide = p.slideTokens() == 0 ? Math.max(b, (window - sinks) / 4 / b * b) : roundUp(p.slideTokens(), b);
        s.windowSlots = window;
        s.sinkSlots = sinks;
        s.slideSlots = slide;
    }

    private static int roundUp(int n, int b) {
        return (n + b - 1) / b * b;
    }

    /**
     * SLIDE: caps a chunk at the room left in the window, first sliding the window when it is
     * full. The window slides only when full and a chunk never crosses its end, so which tokens a
     * token attends to depends on its index alone, never on how prefill was chunked (a preempted
     * request replays the same). Returns -1 after ending a request whose window cannot slide.
     *
     * <pre>
     *   full:   [ sinks | d oldest | kept ............ ]  length == window
     *   slide:  keys of kept rotated by -d (Model.shiftPositions), then slots [sinks, sinks+d)
     *           discarded (KvCache.discard):  [ sinks | kept ............ | room for d ]
     * </pre>
     */
    private int fitWindow(Sequence s, int n) {
        if (!s.slides() || s.kv == null || !s.kv.valid()) {
            return n; // (an invalid sequence is rebuilt by room)
        }
        int length = s.slot();
        if (length >= s.windowSlots) {
            int b = lease.cache.blockSizeTokens();
            int from = s.sinkSlots;
            int to = Math.min(from + s.slideSlots, length / b * b);
            boolean slid = false;
            if (to > from) {
                try {
                    slid = model.shiftPositions(s.kv, to, length, from - to);
                    if (slid) {
                        lease.cache.discard(s.kv, from, to);
                    }
                } catch (RuntimeException e) {
                    LOG.warn("Engine loop {}: sliding the window of {} failed", name, s.requestId(), e);
                    end(s, FinishReason.ERROR, "sliding the context window failed: " + e.getMessage());
                    return -1;
                }
            }
            if (!slid) {
                end(s, s.length() > s.promptLength() ? FinishReason.LENGTH : FinishReason.ERROR,
                        s.length() > s.promptLength() ? null : "the model cannot slide its context window "
                                + "(context_policy slide); use truncate or a shorter prompt");
                return -1;
            }
            s.evicted += to - from;
            s.evictedReported = Math.max(s.evictedReported, s.evicted);
            length = s.slot();
        }
        return Math.min(n, s.windowSlots - length);
    }

    /** Runs one step and hands out its tokens. */
    private void execute(List<Scheduled> plan) {
        List<StepEntry> entries = new ArrayList<>(plan.size());
        int prefill = 0;
        int decode = 0;
        for (Scheduled sc : plan) {
            Sequence s = sc.seq();
            boolean sample = s.computed + sc.count() == s.length();
            entries.add(new StepEntry(s, s.kv, s.computed, sc.count(), sample, false, s.slot()));
            if (s.decoding()) {
                decode += sc.count();
            } else {
                prefill += sc.count();
            }
        }
        StepResult result;
        long t0 = System.nanoTime();
        try {
            result = model.step(entries);
        } catch (KvSequenceInvalidException e) {
            LOG.info("Engine loop {}: KV blocks were dropped during a step; re-prefilling", name);
            for (Scheduled sc : plan) {
                if (sc.seq().kv != null && !sc.seq().kv.valid()) {
                    requeue(sc.seq(), false);
                }
            }
            return;
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            if (plan.size() == 1) {
                LOG.warn("Engine loop {}: step of {} failed", name, plan.get(0).seq().requestId(), e);
                end(plan.get(0).seq(), FinishReason.ERROR, "the engine failed on this request: " + e);
            } else {
                LOG.warn("Engine loop {}: a step of {} sequences failed; retrying them one by one", name,
                        plan.size(), e);
                for (Scheduled sc : plan) {
                    sc.seq().suspect = true;
                }
            }
            return;
        }
        long nanos = Math.max(1, System.nanoTime() - t0);
        steps++;
        double rate = (prefill + decode) * 1e9 / nanos;
        tokensPerSecond = tokensPerSecond == 0 ? rate : 0.8 * tokensPerSecond + 0.2 * rate;

        for (int i = 0; i < plan.size(); i++) {
            Sequence s = plan.get(i).seq();
            int n = plan.get(i).count();
            try {
                s.kv.commit(s.tokenArray(), s.computed, n);
            } catch (KvSequenceInvalidException e) {
                requeue(s, false);
                continue;
            }
            s.computed += n;
            s.publishedComputed = s.computed;
            s.suspect = false;
            if (entries.get(i).sample()) {
                SampledToken t = result.sample(i);
                if (t == null || t.none()) {
                    end(s, FinishReason.ERROR, t == null ? "the engine returned no token"
                            : "every token was forbidden by the logits processors");
                    continue;
                }
                emit(s, t);
            }
        }
        Telemetry tel = services.telemetry();
        if (tel != null) {
            try {
                List<RouterLoad> routing = new ArrayList<>();
                for (LayerRouting r : result.routing()) {
                    routing.add(new RouterLoad(r.layer(), r.tokens(), r.expertTokens(), r.entropySum()));
                }
                tel.step(new StepRecord(name, plan.size(), prefill, decode, result.nanos(), routing));
            } catch (RuntimeException e) {
                LOG.debug("Telemetry failed", e);
            }
        }
    }

    /** Appends a sampled token, releases its text and ends the request when it is done. */
    private void emit(Sequence s, SampledToken t) {
        s.append(t.token());
        int index = s.length() - s.promptLength() - 1;
        s.publishedOutput = index + 1;
        if (s.firstTokenNanos < 0) {
            s.firstTokenNanos = System.nanoTime();
        }
        boolean eos = !s.request.ignoreEos() && isEos(t.token());
        String visible = s.stops.add(eos ? "" : s.decoder.next(t.token()));
        FinishReason reason = null;
        if (s.stops.stopped() || eos) {
            reason = FinishReason.STOP;
        } else if (index + 1 >= s.request.maxTokens() || (!s.slides() && s.length() >= contextLength)) {
            reason = FinishReason.LENGTH;
        }
        if (reason == FinishReason.LENGTH) {
            visible += s.stops.add(s.decoder.flush());
            if (s.stops.stopped()) {
                reason = FinishReason.STOP;
            } else {
                visible += s.stops.finish();
            }
        } else if (reason == FinishReason.STOP && !s.stops.stopped()) {
            visible += s.stops.add(s.decoder.flush());
            if (!s.stops.stopped()) {
                visible += s.stops.finish();
            }
        }
        s.text.append(visible);
        try {
            s.listener.onToken(new GeneratedToken(index, t.token(), visible, t.logprob(), t.top()));
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("Listener of {} failed on a token; cancelling the request", s.requestId(), e);
            s.cancelled = true;
        }
        if (reason != null) {
            end(s, reason, null);
        }
    }

    private boolean isEos(int token) {
        for (int e : eos) {
            if (e == token) {
                return true;
            }
        }
        return false;
    }

    /** Ends a request wherever it is: frees its KV, tells the listener, records telemetry. */
    private void end(Sequence s, FinishReason reason, String error) {
        running.remove(s);
        waiting.get(s.request.priority()).remove(s);
        dropKv(s);
        held.remove(s.requestId(), s);
        if (s.isDone()) {
            return;
        }
        Completion c = s.finish(reason, error);
        record(s, c);
    }

    private void record(Sequence s, Completion c) {
        Telemetry tel = services.telemetry();
        if (tel == null) {
            return;
        }
        Outcome outcome = switch (c.reason()) {
            case STOP, LENGTH -> Outcome.OK;
            case CANCELLED -> Outcome.CANCELLED;
            case CONTENT_FILTER -> Outcome.BLOCKED;
            case DEADLINE, ERROR -> Outcome.ERROR;
        };
        int status = switch (c.reason()) {
            case STOP, LENGTH, CONTENT_FILTER -> 200;
            case CANCELLED -> 499;
            case DEADLINE -> 504;
            case ERROR -> 500;
        };
        try {
            tel.record(new RequestRecord(s.requestId(), s.request.tenant(), s.request.mode(), name,
                    s.request.attributes().get(BatchScheduler.ENDPOINT_ATTRIBUTE), outcome, c.reason().openAi(), status,
                    c.usage().promptTokens(), c.usage().cachedTokens(), c.usage().completionTokens(), s.submittedAt,
                    c.queueTime(), c.timeToFirstToken(), c.totalTime(), List.of(), null, null,
                    Map.of("preemptions", Integer.toString(c.preemptions()))));
        } catch (RuntimeException e) {
            LOG.debug("Telemetry failed", e);
        }
    }

    private void failAll(String why) {
        drainInbox();
        for (Sequence s : allHeld()) {
            end(s, FinishReason.ERROR, why);
        }
        for (Sequence s : held.values()) {
            end(s, FinishReason.ERROR, why);
        }
    }
}
