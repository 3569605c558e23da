package org.halyard.telemetry.impl;

import static org.halyard.telemetry.api.metrics.HalyardMetrics.EXPERT_TOKENS;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.ROUTER_ENTROPY;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.ROUTER_TOKENS;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.STEP_DURATION;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.STEP_TOKENS;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import org.halyard.telemetry.api.RouterLoad;
import org.halyard.telemetry.api.StepRecord;
import org.halyard.telemetry.api.metrics.BucketHistogram;

/**
 * Engine-step metrics per model: step duration, tokens by phase and, for mixture-of-experts
 * models, what each layer's router did: tokens routed, summed entropy (so that
 * {@code rate(entropy) / rate(tokens)} is the mean entropy per token) and tokens per expert.
 * Layers and experts are discovered from the records; their number is fixed by the model's
 * architecture, so the series stay bounded.
 */
final class StepMetrics {

    /** The layer label when per-layer expert load is switched off. */
    static final String ALL_LAYERS = "all";

    private final Registry registry;
    private final ConcurrentHashMap<String, ModelSeries> series = new ConcurrentHashMap<>();
    private volatile boolean perLayer = true;

    StepMetrics(Registry registry) {
        this.registry = registry;
    }

    void perLayerExpertLoad(boolean on) {
        this.perLayer = on;
    }

    void record(String model, StepRecord r) {
        ModelSeries s = series.get(model);
        if (s == null) {
            s = series.computeIfAbsent(model, m -> new ModelSeries(registry, m));
        }
        s.record(r, perLayer);
    }

    private static final class ModelSeries {
        final Registry registry;
        final String model;
        final BucketHistogram duration;
        final Counter prefill;
        final Counter decode;
        final ConcurrentHashMap<Integer, LayerSeries> layers = new ConcurrentHashMap<>();
        final ConcurrentHashMap<String, Counter[]> experts = new ConcurrentHashMap<>();

        ModelSeries(Registry r, String model) {
            this.registry = r;
            this.model = model;
            duration = r.histogram(STEP_DURATION, STEP_DURATION.id(model));
            prefill = r.counter(STEP_TOKENS.id(model, "prefill"));
            decode = r.counter(STEP_TOKENS.id(model, "decode"));
        }

        void record(StepRecord r, boolean perLayer) {
            duration.update(r.nanos() / 1e9);
            if (r.prefillTokens() > 0) {
                prefill.inc(r.prefillTokens());
            }
            if (r.decodeTokens() > 0) {
                decode.inc(r.decodeTokens());
            }
            List<RouterLoad> routing = r.routing();
            for (int i = 0; i < routing.size(); i++) {
                RouterLoad load = routing.get(i);
                LayerSeries l = layers.get(load.layer());
                if (l == null) {
                    l = layers.computeIfAbsent(load.layer(), n -> new LayerSeries(registry, model, n));
                }
                l.tokens.inc(load.tokens());
                l.entropy.add(load.entropySum());
                long[] perExpert = load.expertTokens();
                Counter[] counters = expertCounters(perLayer ? Integer.toString(load.layer()) : ALL_LAYERS,
                        perExpert.length);
                for (int e = 0; e < perExpert.length; e++) {
                    if (perExpert[e] > 0) {
                        counters[e].inc(perExpert[e]);
                    }
                }
            }
        }

        private Counter[] expertCounters(String layer, int n) {
            Counter[] c = experts.get(layer);
            if (c == null || c.length < n) {
                // rare: first step, or a model with more experts took this name
                c = experts.compute(layer, (k, old) -> {
                    if (old != null && old.length >= n) {
                        return old;
                    }
                    Counter[] grown = new Counter[n];
                    for (int e = 0; e < n; e++) {
                        grown[e] = registry.counter(EXPERT_TOKENS.id(model, k, Integer.toString(e)));
                    }
                    return grown;
                });
            }
            return c;
        }
    }

    private static final class LayerSeries {
        final Counter tokens;
        final DoubleAdder entropy = new DoubleAdder();

        LayerSeries(Registry r, String model, int layer) {
            String l = Integer.toString(layer);
            tokens = r.counter(ROUTER_TOKENS.id(model, l));
            // Dropwizard counters are integral; entropy is a sum of nats, kept in a DoubleAdder and
            // read through a gauge that exporters treat as a counter (see the catalogue)
            r.gauge(ROUTER_ENTROPY.id(model, l), (Gauge<Double>) entropy::sum);
        }
    }
}
