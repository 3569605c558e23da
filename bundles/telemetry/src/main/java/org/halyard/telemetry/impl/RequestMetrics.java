package org.halyard.telemetry.impl;

import static org.halyard.telemetry.api.metrics.HalyardMetrics.CACHED_TOKENS;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.QUEUE_DURATION;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.REQUESTS;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.REQUEST_DURATION;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.TIME_PER_OUTPUT_TOKEN;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.TIME_TO_FIRST_TOKEN;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.TOKENS;

import com.codahale.metrics.Counter;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.metrics.BucketHistogram;

/**
 * The per-request metrics, per model and serving mode. The series of one (model, mode) pair are
 * created together on its first request (every outcome at zero, so rates exist from the start)
 * and cached: recording a request is a map lookup plus lock-free adds.
 */
final class RequestMetrics {

    private static final Outcome[] OUTCOMES = Outcome.values();

    private final Registry registry;
    private final ConcurrentHashMap<Key, Series> series = new ConcurrentHashMap<>();

    private record Key(String model, String mode) {
    }

    RequestMetrics(Registry registry) {
        this.registry = registry;
    }

    /** Records one finished request under already-bounded label values. */
    void record(String model, String mode, RequestRecord r) {
        Key key = new Key(model, mode);
        Series s = series.get(key);
        if (s == null) {
            s = series.computeIfAbsent(key, k -> new Series(registry, k.model(), k.mode()));
        }
        s.record(r);
    }

    private static final class Series {
        final BucketHistogram ttft;
        final BucketHistogram tpot;
        final BucketHistogram queue;
        // created on an outcome's first request: most pairs never see most outcomes, and each
        // histogram is ~17 series. A racy fill is benign: the registry hands out one instance
        final BucketHistogram[] duration = new BucketHistogram[OUTCOMES.length];
        final Registry registry;
        final String model;
        final String mode;
        final Counter[] requests = new Counter[OUTCOMES.length];
        final Counter inputTokens;
        final Counter outputTokens;
        final Counter cachedTokens;

        Series(Registry r, String model, String mode) {
            ttft = r.histogram(TIME_TO_FIRST_TOKEN, TIME_TO_FIRST_TOKEN.id(model, mode));
            tpot = r.histogram(TIME_PER_OUTPUT_TOKEN, TIME_PER_OUTPUT_TOKEN.id(model, mode));
            queue = r.histogram(QUEUE_DURATION, QUEUE_DURATION.id(model, mode));
            for (Outcome o : OUTCOMES) {
                requests[o.ordinal()] = r.counter(REQUESTS.id(model, mode, o.label()));
            }
            this.registry = r;
            this.model = model;
            this.mode = mode;
            inputTokens = r.counter(TOKENS.id(model, mode, "input"));
            outputTokens = r.counter(TOKENS.id(model, mode, "output"));
            cachedTokens = r.counter(CACHED_TOKENS.id(model, mode));
        }

        void record(RequestRecord r) {
            int o = r.outcome().ordinal();
            requests[o].inc();
            BucketHistogram d = duration[o];
            if (d == null) {
                d = registry.histogram(REQUEST_DURATION, REQUEST_DURATION.id(model, mode, r.outcome().label()));
                duration[o] = d;
            }
            d.update(seconds(r.totalTime()));
            if (r.outcome() != Outcome.REJECTED) {
                // a rejected request never reached the queue
                queue.update(seconds(r.queueTime()));
            }
            if (r.outcome() == Outcome.OK) {
                // the GenAI conventions define both for successful responses only
                if (r.timeToFirstToken() != null) {
                    ttft.update(seconds(r.timeToFirstToken()));
                }
                Duration perToken = r.timePerOutputToken();
                if (perToken != null && !perToken.isNegative()) {
                    tpot.update(seconds(perToken));
                }
            }
            if (r.promptTokens() > 0) {
                inputTokens.inc(r.promptTokens());
            }
            if (r.outputTokens() > 0) {
                outputTokens.inc(r.outputTokens());
            }
            if (r.cachedTokens() > 0) {
                cachedTokens.inc(r.cachedTokens());
            }
        }
    }

    static double seconds(Duration d) {
        return d.getSeconds() + d.getNano() / 1e9;
    }
}
