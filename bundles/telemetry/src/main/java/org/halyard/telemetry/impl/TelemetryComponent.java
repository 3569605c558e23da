package org.halyard.telemetry.impl;

import static org.halyard.telemetry.api.metrics.HalyardMetrics.GC_TIME;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.HEAP_COMMITTED;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.HEAP_LIMIT;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.HEAP_LIVE;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.HEAP_USED;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_BLOCKS;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_CAPACITY;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_DROPS;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_EVICTIONS;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_MEMORY;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_OFFLOADED;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_PREFIX_HIT_RATIO;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_PREFIX_TOKENS;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.KV_SEQUENCES;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.LABEL_OVERFLOW;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.LISTENER_FAILURES;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.OFFHEAP_LIMIT;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.OFFHEAP_USED;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.PROCESS_LIMIT;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.PROCESS_RESIDENT;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.RECORDS_DROPPED;
import static org.halyard.telemetry.api.metrics.HalyardMetrics.SCHEDULER_REQUESTS;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.engine.api.Model;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Scheduler;
import org.halyard.serving.api.ServingMode;
import org.halyard.telemetry.api.RequestListener;
import org.halyard.telemetry.api.RequestRecord;
import org.halyard.telemetry.api.StepRecord;
import org.halyard.telemetry.api.Telemetry;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.halyard.telemetry.api.metrics.MetricId;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.ComponentServiceObjects;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Telemetry} service: owns the Dropwizard {@link MetricRegistry} (published as a
 * service for the exporters and the shell), keeps the request and step metrics per serving mode
 * and model, samples the gauges (scheduler queues, KV cache, process memory) on its own thread,
 * fans request records out to every {@link RequestListener} on a thread per listener, and reports
 * memory health.
 *
 * <pre>
 *   Scheduler ─ record / step ─▶ RequestMetrics, StepMetrics ─▶ MetricRegistry (service) ─▶ exporters, shell
 *                           └──▶ ListenerChannel per RequestListener ─▶ JSON log, OTLP spans
 *   sampler thread: Scheduler.requests(), KvCacheManager.caches(), MemoryProbe ─▶ gauges, health
 * </pre>
 *
 * <p>{@link #record} and {@link #step} run on the scheduler's threads: they do lock-free adds on
 * cached series and lock-free queue offers, nothing else.
 */
@Component(configurationPid = TelemetryComponent.PID, service = {Telemetry.class, HealthContributor.class},
        property = HealthContributor.COMPONENT + "=telemetry")
@Designate(ocd = TelemetryComponent.Config.class)
public class TelemetryComponent implements Telemetry, HealthContributor {

    /** The configuration PID. */
    public static final String PID = "org.halyard.telemetry";

    static final String[] DEFAULT_MODES = {"interactive", "batch", "ultralong"};
    static final int DEFAULT_QUEUE_RECORDS = 10_000;

    private static final Logger LOG = LoggerFactory.getLogger(TelemetryComponent.class);

    /** The telemetry configuration. */
    @ObjectClassDefinition(name = "Halyard telemetry",
            description = "Metrics per serving mode and model, request records for exporters, memory health")
    public @interface Config {

        @AttributeDefinition(description = "Serving modes that get their own label value besides those registered "
                + "as services; requests naming any other mode are counted under 'other'")
        String[] modes() default {"interactive", "batch", "ultralong"};

        @AttributeDefinition(description = "Models that get their own label value besides those registered as "
                + "services; requests naming any other model are counted under 'other'")
        String[] models() default {};

        @AttributeDefinition(description = "How often the gauges (scheduler queues, KV cache, process memory) "
                + "and the memory health are sampled (seconds)")
        int sampleIntervalSeconds() default 5;

        @AttributeDefinition(description = "Request records each listener (exporter) may have waiting; "
                + "past that, records are dropped and counted")
        int listenerQueueRecords() default DEFAULT_QUEUE_RECORDS;

        @AttributeDefinition(description = "Expert load per mixture-of-experts layer (layers x experts series "
                + "per model); false sums the layers")
        boolean expertLoadPerLayer() default true;

        @AttributeDefinition(description = "Live heap (after collection) share of the limit at which memory "
                + "health turns DEGRADED (percent)")
        int heapWarnPercent() default 85;

        @AttributeDefinition(description = "Live heap share at which the node also reports not ready, so that "
                + "new work goes elsewhere (percent)")
        int heapCriticalPercent() default 95;

        @AttributeDefinition(description = "Resident memory share of the container limit at which memory "
                + "health turns DEGRADED (percent)")
        int processWarnPercent() default 90;

        @AttributeDefinition(description = "Resident memory share of the container limit at which the node "
                + "also reports not ready (percent)")
        int processCriticalPercent() default 97;

        @AttributeDefinition(description = "Share of wall time spent in garbage collection at which heap "
                + "health turns DEGRADED (percent)")
        int gcWarnPercent() default 30;
    }

    private final BundleContext context;
    private final MetricRegistry metricRegistry = new MetricRegistry();
    private final Registry registry = new Registry(metricRegistry);
    private final RequestMetrics requests = new RequestMetrics(registry);
    private final StepMetrics steps = new StepMetrics(registry);
    private final LabelGuard models = new LabelGuard();
    private final LabelGuard modes = new LabelGuard();
    private final Counter modelOverflow = registry.counter(LABEL_OVERFLOW.id(HalyardMetrics.MODEL));
    private final Counter modeOverflow = registry.counter(LABEL_OVERFLOW.id(HalyardMetrics.MODE));
    private final GaugeSet sampled = new GaugeSet(registry);
    private final MemoryProbe probe;
    private final ScheduledExecutorService sampler;
    private final Object listenersLock = new Object();
    private volatile ListenerChannel[] channels = new ListenerChannel[0];
    private volatile Config config;
    private volatile MemoryProbe.Reading lastReading;
    private volatile MemoryProbe.Reading previousReading;
    private volatile MemoryProbe.Reading jvmReading;
    private volatile List<KvUsage> lastKv = List.of();
    private ScheduledFuture<?> sampling;
    private ServiceRegistration<MetricRegistry> registration;

    /**
     * The scheduler, got only while sampling: the scheduler references Telemetry too, and two
     * components getting each other's service while activating is a cycle SCR reports as an error.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, service = Scheduler.class)
    private volatile ComponentServiceObjects<Scheduler> scheduler;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile KvCacheManager kvCacheManager;

    @Activate
    public TelemetryComponent(BundleContext context, Config config) {
        this(context, config, new MemoryProbe());
    }

    /** For tests: another memory probe. */
    TelemetryComponent(BundleContext context, Config config, MemoryProbe probe) {
        this.context = context;
        this.probe = probe;
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "halyard-telemetry-sampler");
            t.setDaemon(true);
            return t;
        });
        registerMemoryGauges();
        configure(config);
        if (context != null) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(HalyardMetrics.REGISTRY, "telemetry");
            props.put(Constants.SERVICE_DESCRIPTION, "Halyard metrics (Dropwizard); names and labels as "
                    + "org.halyard.telemetry.api.metrics describes them");
            registration = context.registerService(MetricRegistry.class, metricRegistry, props);
        }
    }

    @Modified
    void modified(Config config) {
        configure(config);
    }

    private synchronized void configure(Config config) {
        this.config = config;
        modes.configure(list(config.modes()));
        models.configure(list(config.models()));
        steps.perLayerExpertLoad(config.expertLoadPerLayer());
        for (ListenerChannel c : channels) {
            c.capacity(Math.max(1, config.listenerQueueRecords()));
        }
        if (sampling != null) {
            sampling.cancel(false);
        }
        long every = Math.max(1, config.sampleIntervalSeconds());
        sampling = sampler.scheduleWithFixedDelay(this::sampleSafely, 0, every, TimeUnit.SECONDS);
    }

    /**
     * The values of a list property: Karaf's {@code .cfg} files give a list as one
     * comma-separated string, ConfigAdmin and the shell as an array; both work.
     */
    static List<String> list(String[] values) {
        List<String> out = new ArrayList<>();
        if (values != null) {
            for (String v : values) {
                for (String part : v.split(",")) {
                    if (!part.isBlank()) {
                        out.add(part.trim());
                    }
                }
            }
        }
        return out;
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the framework is stopping
            }
        }
        sampler.shutdownNow();
        ListenerChannel[] all;
        synchronized (listenersLock) {
            all = channels;
            channels = new ListenerChannel[0];
        }
        for (ListenerChannel c : all) {
            c.close(1000);
        }
    }

    /** For tests: what DS would inject. */
    void providers(Scheduler scheduler, KvCacheManager kvCacheManager) {
        this.scheduler = scheduler == null ? null : new ComponentServiceObjects<>() {
            @Override
            public Scheduler getService() {
                return scheduler;
            }

            @Override
            public void ungetService(Scheduler service) {
            }

            @Override
            public org.osgi.framework.ServiceReference<Scheduler> getServiceReference() {
                return null;
            }
        };
        this.kvCacheManager = kvCacheManager;
    }

    /** The registry (for tests and the bundle's own use). */
    MetricRegistry metricRegistry() {
        return metricRegistry;
    }

    // ---- the hot path ---------------------------------------------------------------------

    @Override
    public void record(RequestRecord record) {
        if (record == null) {
            return;
        }
        if (models.overflows(record.model())) {
            modelOverflow.inc();
        }
        if (modes.overflows(record.mode())) {
            modeOverflow.inc();
        }
        requests.record(models.label(record.model()), modes.label(record.mode()), record);
        for (ListenerChannel c : channels) {
            c.offer(record);
        }
    }

    @Override
    public void step(StepRecord record) {
        if (record == null) {
            return;
        }
        if (models.overflows(record.model())) {
            modelOverflow.inc();
        }
        steps.record(models.label(record.model()), record);
    }

    // ---- request listeners ------------------------------------------------------------------

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindListener(RequestListener listener, Map<String, Object> properties) {
        String name = listenerName(listener, properties);
        ListenerChannel channel = new ListenerChannel(listener, name,
                Math.max(1, config == null ? DEFAULT_QUEUE_RECORDS : config.listenerQueueRecords()),
                registry.counter(RECORDS_DROPPED.id(name)), registry.counter(LISTENER_FAILURES.id(name)));
        synchronized (listenersLock) {
            ListenerChannel[] next = Arrays.copyOf(channels, channels.length + 1);
            next[next.length - 1] = channel;
            channels = next;
        }
        LOG.info("Request listener {} added", name);
    }

    void unbindListener(RequestListener listener) {
        ListenerChannel gone = null;
        synchronized (listenersLock) {
            List<ListenerChannel> next = new ArrayList<>(Arrays.asList(channels));
            for (ListenerChannel c : channels) {
                if (c.listener() == listener) {
                    gone = c;
                    next.remove(c);
                    break;
                }
            }
            channels = next.toArray(new ListenerChannel[0]);
        }
        if (gone != null) {
            gone.close(1000);
            LOG.info("Request listener {} removed", gone.name());
        }
    }

    private static String listenerName(RequestListener listener, Map<String, Object> properties) {
        Object n = properties == null ? null : properties.get(RequestListener.NAME);
        String name = n == null ? listener.getClass().getSimpleName() : n.toString();
        // the name is a label value: keep it short and tame
        name = name.replaceAll("[^A-Za-z0-9_.-]", "_");
        return name.length() > 64 ? name.substring(0, 64) : name;
    }

    /** The listeners now, for the health report and tests. */
    List<String> listeners() {
        List<String> names = new ArrayList<>();
        for (ListenerChannel c : channels) {
            names.add(c.name());
        }
        return names;
    }

    // ---- bounded label values -------------------------------------------------------------

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            service = ServingMode.class)
    void bindMode(ServiceReference<ServingMode> ref) {
        modes.register(stringProperty(ref, ServingMode.MODE));
    }

    void unbindMode(ServiceReference<ServingMode> ref) {
        modes.unregister(stringProperty(ref, ServingMode.MODE));
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, service = Model.class)
    void bindModel(ServiceReference<Model> ref) {
        models.register(stringProperty(ref, Model.NAME));
    }

    void unbindModel(ServiceReference<Model> ref) {
        models.unregister(stringProperty(ref, Model.NAME));
    }

    private static String stringProperty(ServiceReference<?> ref, String key) {
        Object v = ref.getProperty(key);
        return v == null ? null : v.toString();
    }

    // ---- sampled gauges ---------------------------------------------------------------------

    private void sampleSafely() {
        try {
            sample();
        } catch (RuntimeException e) {
            LOG.debug("Telemetry sample failed", e);
        }
    }

    /** Samples the scheduler, the KV caches and the process memory once. */
    void sample() {
        Map<MetricId, Number> values = new HashMap<>();
        sampleScheduler(values);
        sampleKvCaches(values);
        MemoryProbe.Reading r = probe.full();
        previousReading = lastReading;
        lastReading = r;
        if (r.resident() >= 0) {
            values.put(PROCESS_RESIDENT.id(), r.resident());
        }
        if (r.processLimit() > 0) {
            values.put(PROCESS_LIMIT.id(), r.processLimit());
        }
        sampled.publish(values);
    }

    private void sampleScheduler(Map<MetricId, Number> values) {
        ComponentServiceObjects<Scheduler> objects = scheduler;
        Scheduler s = objects == null ? null : objects.getService();
        if (s == null) {
            return;
        }
        try {
            sampleScheduler(s, values);
        } finally {
            objects.ungetService(s);
        }
    }

    private void sampleScheduler(Scheduler s, Map<MetricId, Number> values) {
        // every known model x known mode at zero, so that dashboards show idle pairs
        Set<String> knownModels = models.current();
        Set<String> knownModes = modes.current();
        for (String model : knownModels) {
            for (String mode : knownModes) {
                values.put(SCHEDULER_REQUESTS.id(model, mode, "running"), 0);
                values.put(SCHEDULER_REQUESTS.id(model, mode, "waiting"), 0);
            }
        }
        List<RequestStatus> held;
        try {
            held = s.requests();
        } catch (RuntimeException e) {
            LOG.debug("Scheduler.requests() failed", e);
            return;
        }
        for (RequestStatus r : held) {
            String state = r.state() == RequestStatus.State.RUNNING ? "running" : "waiting";
            values.merge(SCHEDULER_REQUESTS.id(models.label(r.model()), modes.label(r.mode()), state), 1,
                    (a, b) -> a.intValue() + b.intValue());
        }
    }

    private void sampleKvCaches(Map<MetricId, Number> values) {
        KvCacheManager m = kvCacheManager;
        if (m == null) {
            lastKv = List.of();
            return;
        }
        List<KvUsage> usages = new ArrayList<>();
        for (KvCache c : m.caches()) {
            KvUsage u;
            try {
                u = c.usage();
            } catch (RuntimeException e) {
                LOG.debug("KvCache.usage() failed", e);
                continue;
            }
            usages.add(u);
            // cache names are the deployments' model names (operator-controlled, not clients')
            String model = c.spec().name();
            long blockBytes = blockBytes(c, u);
            long freeBlocks = blockBytes > 0 ? u.freeBytes() / blockBytes : 0;
            add(values, KV_BLOCKS.id(model, "used"), u.blocksUsed());
            add(values, KV_BLOCKS.id(model, "cached"), u.blocksCached());
            add(values, KV_BLOCKS.id(model, "free"), freeBlocks);
            add(values, KV_MEMORY.id(model, "used"), u.usedBytes());
            add(values, KV_MEMORY.id(model, "cached"), u.cachedBytes());
            add(values, KV_MEMORY.id(model, "free"), u.freeBytes());
            add(values, KV_CAPACITY.id(model), u.capacityBytes());
            add(values, KV_OFFLOADED.id(model, "offheap"), u.offHeapBytes());
            add(values, KV_OFFLOADED.id(model, "disk"), u.diskBytes());
            add(values, KV_SEQUENCES.id(model), u.sequences());
            add(values, KV_PREFIX_TOKENS.id(model, "hit"), u.prefixHitTokens());
            add(values, KV_PREFIX_TOKENS.id(model, "miss"), u.prefixMissTokens());
            add(values, KV_EVICTIONS.id(model), u.evictions());
            add(values, KV_DROPS.id(model), u.drops());
            values.merge(KV_PREFIX_HIT_RATIO.id(model), u.prefixHitRate(), (a, b) -> b);
        }
        lastKv = List.copyOf(usages);
    }

    /** Two caches of one name (a model swap in progress) add up. */
    private static void add(Map<MetricId, Number> values, MetricId id, long v) {
        values.merge(id, v, (a, b) -> a.longValue() + b.longValue());
    }

    /** Bytes per block: from the blocks in use when there are any, else from the cache's shape. */
    static long blockBytes(KvCache c, KvUsage u) {
        long blocks = u.blocksUsed() + u.blocksCached();
        if (blocks > 0) {
            return (u.usedBytes() + u.cachedBytes()) / blocks;
        }
        return (long) u.blockSizeTokens() * c.spec().layout().valuesPerToken()
                * c.spec().defaultDType().bytesPerValue();
    }

    // ---- memory gauges ----------------------------------------------------------------------

    private void registerMemoryGauges() {
        memoryGauge(HEAP_USED.id(), MemoryProbe.Reading::heapUsed);
        memoryGauge(HEAP_LIVE.id(), MemoryProbe.Reading::heapLive);
        memoryGauge(HEAP_COMMITTED.id(), MemoryProbe.Reading::heapCommitted);
        memoryGauge(HEAP_LIMIT.id(), MemoryProbe.Reading::heapLimit);
        memoryGauge(OFFHEAP_USED.id("direct"), MemoryProbe.Reading::directUsed);
        memoryGauge(OFFHEAP_USED.id("mapped"), MemoryProbe.Reading::mappedUsed);
        memoryGauge(OFFHEAP_USED.id("nonheap"), MemoryProbe.Reading::nonHeapUsed);
        memoryGauge(OFFHEAP_LIMIT.id(), MemoryProbe.Reading::directLimit);
        for (String collector : probe.jvm().gcMillis().keySet()) {
            registry.gauge(GC_TIME.id(collector), (Gauge<Double>) () -> {
                Long ms = jvm().gcMillis().get(collector);
                return ms == null ? null : ms / 1000.0;
            });
        }
    }

    private void memoryGauge(MetricId id, ToLongFunction<MemoryProbe.Reading> f) {
        registry.gauge(id, (Gauge<Long>) () -> {
            long v = f.applyAsLong(jvm());
            return v < 0 ? null : v;
        });
    }

    /** A JVM reading at most 500 ms old: one scrape reads several gauges off one reading. */
    private MemoryProbe.Reading jvm() {
        MemoryProbe.Reading r = jvmReading;
        if (r == null || System.nanoTime() - r.nanoTime() > 500_000_000L) {
            r = probe.jvm();
            jvmReading = r;
        }
        return r;
    }

    // ---- health -----------------------------------------------------------------------------

    @Override
    public List<Health> health() {
        List<Health> out = new ArrayList<>();
        MemoryProbe.Reading r = lastReading;
        Config c = config;
        if (r != null && c != null) {
            out.addAll(MemoryHealth.judge(r, previousReading, lastKv, new MemoryHealth.Levels(c.heapWarnPercent(),
                    c.heapCriticalPercent(), c.processWarnPercent(), c.processCriticalPercent(), c.gcWarnPercent())));
        }
        long dropped = 0;
        List<String> names = new ArrayList<>();
        for (ListenerChannel ch : channels) {
            names.add(ch.name());
        }
        for (var e : metricRegistry.getCounters((n, m) -> n.startsWith(RECORDS_DROPPED.name() + "{")).values()) {
            dropped += e.getCount();
        }
        out.add(Health.up("telemetry", names.size() + " request listener(s)"
                + (names.isEmpty() ? "" : ": " + String.join(", ", names))
                + (dropped > 0 ? "; " + dropped + " record(s) dropped by full listener queues" : ""))
                .with(Map.of("listeners", String.join(",", names), "droppedRecords", Long.toString(dropped))));
        return out;
    }
}
