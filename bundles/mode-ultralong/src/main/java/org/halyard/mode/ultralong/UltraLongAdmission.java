package org.halyard.mode.ultralong;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.safety.api.Kill;
import org.halyard.safety.api.KillScope;
import org.halyard.safety.api.KillSwitch;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.ContextPolicy.Overflow;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.KvPolicy;
import org.halyard.serving.api.PriorityClass;
import org.halyard.serving.api.QuotaLedger;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.RejectedException.Reason;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.SchedulerLoad;

/**
 * Admission of the ultra-long mode, in the order a request meets it. Everything that can be
 * known up front is checked before anything is queued, and a refusal says what to change:
 *
 * <ol>
 *   <li>the kill switch (global, this mode, the model, the tenant): 503;</li>
 *   <li>the prompt and {@code max_tokens} limits: 400;</li>
 *   <li>the KV memory the request will hold at most, from the model's layout, the block type and
 *       the context policy (a sliding window holds at most the window), against the budget per
 *       sequence: 400;</li>
 *   <li>the caller's quota (requests at once, requests and tokens per minute): 429;</li>
 *   <li>the ultra-long sequences in flight on this node, at most {@code maxConcurrentSequences}:
 *       429 with the time the scheduler needs to work off what it holds.</li>
 * </ol>
 *
 * The last two checks and the hand-off to the scheduler happen under one lock, so concurrent
 * requests cannot all pass a bound only one of them fits.
 */
final class UltraLongAdmission {

    /** The tuning in force; replaced as a whole on a configuration change. */
    record Policy(int maxPromptTokens, int maxOutputTokens, int maxConcurrentSequences, long maxBytesPerSequence,
            KvDType dtype, boolean offload, ContextPolicy context, Duration defaultDeadline) {
    }

    /** What admission needs to know of the model a request names; null fields when it is not served. */
    record ModelShape(KvLayout layout, int contextLength, int blockSizeTokens) {
    }

    private final String mode;
    private final Object lock = new Object();
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Per tenant; tenants are API key names, so at most one entry per configured key. */
    private final QuotaLedger quotas;

    UltraLongAdmission(String mode, LongSupplier nanoClock) {
        this.mode = mode;
        this.quotas = new QuotaLedger(nanoClock);
    }

    int inFlight() {
        return inFlight.get();
    }


    /**
     * The request's context policy with the mode's sinks, window and slide where it left them
     * at 0; the mode's whole policy when it names none.
     */
    static ContextPolicy contextOf(GenerationRequest r, Policy p) {
        ContextPolicy c = r.context();
        ContextPolicy d = p.context();
        if (c == null) {
            return d;
        }
        return new ContextPolicy(c.overflow(), c.sinkTokens() == 0 ? d.sinkTokens() : c.sinkTokens(),
                c.windowTokens() == 0 ? d.windowTokens() : c.windowTokens(),
                c.slideTokens() == 0 ? d.slideTokens() : c.slideTokens());
    }

    /**
     * Bytes of KV the request holds at most, as KV Cache++ counts them against its budget: whole
     * blocks of its type for the tokens it keeps (prompt plus output, up to the context, or up to
     * the window when it slides), one of them being written (the scheduler cuts its chunks to fit).
     */
    static long bytesNeeded(GenerationRequest r, ContextPolicy c, ModelShape m, KvDType dtype) {
        long tokens = (long) r.promptLength() + r.maxTokens();
        int window = c.windowTokens() == 0 ? m.contextLength() : Math.min(c.windowTokens(), m.contextLength());
        tokens = switch (c.overflow()) {
            case SLIDE -> Math.min(tokens, window);
            case TRUNCATE, REJECT -> Math.min(tokens, m.contextLength());
        };
        int b = m.blockSizeTokens();
        long blocks = (tokens + b - 1) / b;
        // the block being written holds its open size (INT8 blocks are staged as F32)
        return blocks * blockBytes(m.layout(), b, dtype)
                + blockBytes(m.layout(), b, dtype == KvDType.INT8 ? KvDType.F32 : dtype) - blockBytes(m.layout(), b, dtype);
    }

    /** Bytes of one sealed block: keys and values of every layer and head, plus INT8's scales. */
    static long blockBytes(KvLayout l, int blockTokens, KvDType dtype) {
        long values = l.valuesPerToken() * blockTokens;
        return values * dtype.bytesPerValue() + (dtype == KvDType.INT8 ? 2L * l.layers() * l.kvHeads() * 4 : 0);
    }

    GenerationHandle admit(GenerationRequest request, GenerationListener listener, Policy policy, ModelShape model,
            Scheduler scheduler, KillSwitch kill) throws RejectedException {
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
        if (request.promptLength() > policy.maxPromptTokens()) {
            throw new RejectedException(Reason.INVALID, "The prompt has " + request.promptLength() + " tokens; the "
                    + mode + " mode accepts at most " + policy.maxPromptTokens() + " (maxPromptTokens).");
        }
        if (request.maxTokens() > policy.maxOutputTokens()) {
            throw new RejectedException(Reason.INVALID, "max_tokens is " + request.maxTokens() + "; the " + mode
                    + " mode allows at most " + policy.maxOutputTokens() + " (maxOutputTokens).");
        }
        ContextPolicy context = contextOf(request, policy);
        if (model != null && policy.maxBytesPerSequence() > 0) {
            long need = bytesNeeded(request, context, model, policy.dtype());
            if (need > policy.maxBytesPerSequence()) {
                throw new RejectedException(Reason.INVALID, "This request would hold up to " + mib(need) + " of KV cache ("
                        + policy.dtype() + ", " + (context.overflow() == Overflow.SLIDE ? "its sliding window" : "prompt plus "
                        + "max_tokens up to the context") + "); the " + mode + " mode allows " + mib(policy.maxBytesPerSequence())
                        + " per sequence (maxBytesPerSequence). "
                        + (context.overflow() == Overflow.SLIDE ? "Use a smaller window_tokens." : "Lower max_tokens, "
                        + "shorten the prompt, or use context_policy slide."));
            }
        }
        long cost = (long) request.promptLength() + request.maxTokens();
        GenerationRequest.Builder b = request.toBuilder().mode(mode).priority(PriorityClass.ULTRA_LONG).context(context)
                .kv(new KvPolicy(policy.dtype(), policy.offload(), policy.maxBytesPerSequence()));
        if (request.deadline() == null && !policy.defaultDeadline().isZero()) {
            b.deadline(Instant.now().plus(policy.defaultDeadline()));
        }
        GenerationRequest admitted = b.build();
        GenerationHandle handle;
        synchronized (lock) {
            if (inFlight.get() >= policy.maxConcurrentSequences()) {
                SchedulerLoad load = scheduler.load(request.model(), PriorityClass.ULTRA_LONG);
                double rate = load.tokensPerSecond();
                long seconds = rate <= 0 ? 5 : (long) Math.ceil(load.waitingTokens() / rate);
                throw new RejectedException(Reason.QUOTA, "The " + mode + " mode runs at most "
                        + policy.maxConcurrentSequences() + " sequences at once (maxConcurrentSequences) and that many "
                        + "are in flight; retry after the Retry-After interval.",
                        Duration.ofSeconds(Math.max(1, Math.min(60, seconds))));
            }
            QuotaLedger.Entry quota = quotas.take(request.tenant(), request.quota(), cost);
            try {
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

    private static String mib(long bytes) {
        return bytes >= 1 << 20 ? String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0)
                : String.format(java.util.Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }

}
