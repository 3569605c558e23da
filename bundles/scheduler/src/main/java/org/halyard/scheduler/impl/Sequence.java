package org.halyard.scheduler.impl;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.SequenceState;
import org.halyard.engine.api.StreamDecoder;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.ContextReport;
import org.halyard.serving.api.FinishReason;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Usage;

/**
 * One request inside the scheduler: its tokens (prompt, then output), the KV sequence holding
 * their keys and values, and the text assembly of its output. The engine reads it as a
 * {@link SequenceState} during a step; everything else is touched only by the owning loop,
 * except the fields marked volatile, which other threads read for status and cancel.
 *
 * <pre>
 *   tokens:  [ prompt ............ | output ...... ]
 *            0          promptLength          length
 *   KV:      [ computed (committed) | to feed ... ]
 *            0                   computed      length
 *
 *   sliding (context policy SLIDE), once the window was full:
 *   tokens:  [ sinks | evicted ........ | kept ......... | to feed ]
 *   slots:   [ sinks |                    kept ......... ]            slot = computed - evicted
 * </pre>
 */
final class Sequence implements SequenceState, GenerationHandle {

    final GenerationRequest request;
    final GenerationListener listener;
    final EngineLoop loop;
    /** Arrival order on the node; earlier requests are preferred within a class. */
    final long arrival;
    final long submittedNanos = System.nanoTime();
    final Instant submittedAt = Instant.now();

    private final int promptLength;
    private int[] tokens;
    private int length;
    private final SamplingParams sampling;
    private final List<LogitsProcessor> processors;
    /** The context policy in force (REJECT when the request named none). */
    final ContextPolicy policy;
    /** Prompt tokens cut from the start (TRUNCATE). */
    final int truncated;

    /** The KV sequence, or null while queued or preempted. */
    KvSequence kv;
    /** Tokens whose KV is committed in {@link #kv}. */
    int computed;
    /** Tokens whose KV slots a sliding window dropped: token index minus slot. */
    int evicted;
    /** The most tokens evicted in one run (replays after preemption count again from 0). */
    int evictedReported;
    /** SLIDE, resolved against the KV block size when first opened: slots held, sinks, slots dropped at once. */
    int windowSlots;
    int sinkSlots;
    int slideSlots;
    /** Prompt tokens found in the prefix cache when first opened. */
    int cachedTokens = -1;
    int preemptions;
    /** Failed in a batch that threw: runs alone until a step succeeds. */
    boolean suspect;
    long firstScheduledNanos = -1;
    long firstTokenNanos = -1;
    final StreamDecoder decoder;
    final StopMatcher stops;
    final StringBuilder text = new StringBuilder();

    volatile RequestStatus.State state = RequestStatus.State.QUEUED;
    volatile boolean cancelled;
    /** Published after each step for status readers on other threads. */
    volatile int publishedComputed;
    volatile int publishedOutput;
    private volatile boolean done;

    private final CompletableFuture<Completion> completion = new CompletableFuture<>();

    /**
     * @param prompt the prompt as fed: the request's, or its last tokens under TRUNCATE
     * @param truncated how many tokens TRUNCATE cut from the request's prompt
     */
    Sequence(GenerationRequest request, GenerationListener listener, EngineLoop loop, long arrival,
            StreamDecoder decoder, int[] prompt, int truncated) {
        this.request = request;
        this.listener = listener;
        this.loop = loop;
        this.arrival = arrival;
        this.policy = request.context() == null ? ContextPolicy.REJECT : request.context();
        this.truncated = truncated;
        this.promptLength = prompt.length;
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(request.maxTokens(), 64));
        this.length = promptLength;
        this.sampling = request.sampling();
        this.processors = request.logitsProcessors();
        this.decoder = decoder;
        this.stops = new StopMatcher(request.stop());
    }

    // ---- SequenceState (read by the engine during a step) ----

    @Override
    public String requestId() {
        return request.requestId();
    }

    @Override
    public int promptLength() {
        return promptLength;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int token(int index) {
        if (index < 0 || index >= length) {
            throw new IndexOutOfBoundsException("token " + index + " of a sequence of length " + length);
        }
        return tokens[index];
    }

    @Override
    public SamplingParams sampling() {
        return sampling;
    }

    @Override
    public List<LogitsProcessor> logitsProcessors() {
        return processors;
    }

    // ---- GenerationHandle (any thread) ----

    @Override
    public void cancel() {
        if (!done) {
            cancelled = true;
            loop.wake();
        }
    }

    @Override
    public CompletionStage<Completion> completion() {
        return completion.minimalCompletionStage();
    }

    // ---- the loop's side ----

    /** The token array itself (for committing KV slots); valid up to {@link #length()}. */
    int[] tokenArray() {
        return tokens;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.min(tokens.length * 2, promptLength + request.maxTokens() + 1));
        }
        tokens[length++] = token;
    }

    /** Tokens still to feed before the next token can be sampled. */
    int pending() {
        return length - computed;
    }

    boolean decoding() {
        return computed >= promptLength && pending() == 1;
    }

    /** Whether the request slides a window over its context (policy SLIDE). */
    boolean slides() {
        return policy.overflow() == ContextPolicy.Overflow.SLIDE;
    }

    /** The KV slot of the next token to feed (its position). */
    int slot() {
        return computed - evicted;
    }

    boolean isDone() {
        return done;
    }

    /** Ends the request: exactly once. Returns the completion. */
    Completion finish(FinishReason reason, String error) {
        done = true;
        long now = System.nanoTime();
        Duration queue = Duration.ofNanos((firstScheduledNanos < 0 ? now : firstScheduledNanos) - submittedNanos);
        Duration ttft = firstTokenNanos < 0 ? null : Duration.ofNanos(firstTokenNanos - submittedNanos);
        ContextReport context = new ContextReport(policy.overflow(), truncated, evictedReported,
                slides() && windowSlots > 0 ? windowSlots : loop.contextLength);
        Completion c = new Completion(request.requestId(), reason, text.toString(),
                new Usage(promptLength, length - promptLength, Math.max(0, cachedTokens)), queue, ttft,
                Duration.ofNanos(now - submittedNanos), preemptions, Optional.ofNullable(error), context);
        // the handle first: whoever counts requests in flight (a serving mode) must see this one
        // end before its client does, or the client's next request may find it still counted
        completion.complete(c);
        try {
            listener.onComplete(c);
        } catch (RuntimeException | LinkageError e) {
            EngineLoop.LOG.warn("Listener of {} failed on completion", request.requestId(), e);
        }
        return c;
    }

    RequestStatus status() {
        return new RequestStatus(request.requestId(), request.model(), request.mode(), request.priority(), state,
                promptLength, publishedComputed, publishedOutput,
                Duration.ofNanos(System.nanoTime() - submittedNanos));
    }
}
