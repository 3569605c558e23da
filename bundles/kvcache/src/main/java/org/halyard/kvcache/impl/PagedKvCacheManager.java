package org.halyard.kvcache.impl;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvCheck;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.kvcache.impl.kernel.Vectors;
import org.halyard.kvcache.impl.tier.DataDirectory;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KV Cache++'s manager: creates one {@link PagedKvCache} per model version and reports their
 * health. A DS component (PID {@value #PID}, defaults in {@code etc/org.halyard.kvcache.cfg}),
 * and a plain class: {@code new PagedKvCacheManager(KvCacheSettings.defaults())}.
 *
 * <p>When the component goes away (the bundle is updated or stopped) every cache it created is
 * closed, so their sequences become invalid and their owners rebuild them on the next manager.
 * Capacity and check-interval changes apply live to open caches; a new block size, data directory
 * or default type applies to caches created afterwards.
 */
@Component(service = {KvCacheManager.class, HealthContributor.class}, configurationPid = PagedKvCacheManager.PID,
        property = HealthContributor.COMPONENT + "=kvcache")
@Designate(ocd = PagedKvCacheManager.Config.class)
public class PagedKvCacheManager implements KvCacheManager, HealthContributor, AutoCloseable {

    /** The configuration PID. */
    public static final String PID = "org.halyard.kvcache";

    private static final Logger LOG = LoggerFactory.getLogger(PagedKvCacheManager.class);

    /** The manager's configuration. */
    @ObjectClassDefinition(name = "Halyard KV Cache++",
            description = "Paged KV blocks: block size, memory per tier, default block type, consistency checks")
    public @interface Config {

        @AttributeDefinition(description = "Tokens per KV block (caches created after a change use it)")
        int blockSizeTokens() default KvCacheSettings.DEFAULT_BLOCK_SIZE_TOKENS;

        @AttributeDefinition(description = "Hot-tier memory of a cache whose creator does not set one (bytes)")
        long capacityBytes() default KvCacheSettings.DEFAULT_CAPACITY_BYTES;

        @AttributeDefinition(description = "Block type of every cache created: F32, F16 or INT8; empty keeps "
                + "what each cache's creator asks for")
        String defaultDType() default "";

        @AttributeDefinition(description = "Off-heap tier memory per cache (bytes); 0 turns the tier off")
        long offHeapCapacityBytes() default KvCacheSettings.DEFAULT_OFF_HEAP_CAPACITY_BYTES;

        @AttributeDefinition(description = "Disk tier size per cache (bytes); 0 turns the tier off")
        long diskCapacityBytes() default KvCacheSettings.DEFAULT_DISK_CAPACITY_BYTES;

        @AttributeDefinition(description = "Folder of the disk tier's files; empty for ${karaf.data}/kvcache")
        String dataDirectory() default "";

        @AttributeDefinition(description = "Move prefix-cache blocks evicted from the hot tier down a tier "
                + "instead of forgetting them")
        boolean offloadCachedBlocks() default true;

        @AttributeDefinition(description = "How often each cache checks its invariants, dropping it when one "
                + "fails (seconds); 0 never")
        int checkIntervalSeconds() default KvCacheSettings.DEFAULT_CHECK_INTERVAL_SECONDS;
    }

    private final List<PagedKvCache> caches = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService checker;
    private volatile KvCacheSettings settings;
    private volatile ScheduledFuture<?> checks;
    private volatile boolean closed;
    /** Where caches created now keep their disk tier; earlier ones stay until the manager closes. */
    private volatile DataDirectory dataDirectory;
    private final List<DataDirectory> dataDirectories = new CopyOnWriteArrayList<>();

    @Activate
    public PagedKvCacheManager(Config config) {
        this(settings(config));
    }

    /** A manager outside OSGi. Close it to close its caches. */
    public PagedKvCacheManager(KvCacheSettings settings) {
        this.settings = settings;
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "halyard-kvcache-check");
            t.setDaemon(true);
            return t;
        });
        this.dataDirectory = newDataDirectory(settings.dataDirectory());
        scheduleChecks(settings.checkIntervalSeconds());
        LOG.info("KV Cache++ ready: {}-token blocks, {} MiB hot per cache, kernels {}", settings.blockSizeTokens(),
                settings.capacityBytes() >> 20, Vectors.describe());
    }

    /** Removes what earlier runs left in a data directory and opens this manager's folder there. */
    private DataDirectory newDataDirectory(Path root) {
        DataDirectory.removeStale(root);
        DataDirectory d = new DataDirectory(root);
        dataDirectories.add(d);
        return d;
    }

    static KvCacheSettings settings(Config c) {
        String dir = c.dataDirectory() == null ? "" : c.dataDirectory().trim();
        String dtype = c.defaultDType() == null ? "" : c.defaultDType().trim();
        return new KvCacheSettings(c.blockSizeTokens(), c.capacityBytes(),
                dtype.isEmpty() ? null : KvDType.valueOf(dtype.toUpperCase(Locale.ROOT)),
                c.offHeapCapacityBytes(), c.diskCapacityBytes(),
                dir.isEmpty() ? KvCacheSettings.defaultDataDirectory() : Path.of(dir), c.offloadCachedBlocks(),
                c.checkIntervalSeconds());
    }

    @Modified
    void modified(Config config) {
        configure(settings(config));
    }

    /** Applies new settings: capacities and the check interval now, the rest to new caches. */
    public void configure(KvCacheSettings next) {
        KvCacheSettings previous = settings;
        settings = next;
        if (next.capacityBytes() != previous.capacityBytes()) {
            for (PagedKvCache c : caches) {
                if (c.ownCapacity == 0) {
                    c.setCapacityBytes(next.capacityBytes());
                }
            }
        }
        if (next.offHeapCapacityBytes() != previous.offHeapCapacityBytes()
                || next.diskCapacityBytes() != previous.diskCapacityBytes()
                || next.offloadCachedBlocks() != previous.offloadCachedBlocks()) {
            for (PagedKvCache c : caches) {
                c.setTiers(next.offHeapCapacityBytes(), next.diskCapacityBytes(), next.offloadCachedBlocks());
            }
        }
        if (!next.dataDirectory().equals(previous.dataDirectory())) {
            dataDirectory = newDataDirectory(next.dataDirectory());
        }
        if (next.checkIntervalSeconds() != previous.checkIntervalSeconds()) {
            scheduleChecks(next.checkIntervalSeconds());
        }
    }

    private synchronized void scheduleChecks(int seconds) {
        if (checks != null) {
            checks.cancel(false);
            checks = null;
        }
        if (seconds > 0) {
            checks = checker.scheduleWithFixedDelay(this::checkAll, seconds, seconds, TimeUnit.SECONDS);
        }
    }

    /** Checks every cache now; a cache that fails is dropped (its sequences rebuild). */
    public List<KvCheck> checkAll() {
        List<KvCheck> results = new ArrayList<>();
        for (PagedKvCache c : caches) {
            try {
                KvCheck r = c.check();
                results.add(r);
                if (!r.consistent()) {
                    LOG.error("KV cache {} failed its consistency check and was dropped: {}", c.spec().name(),
                            r.problems());
                }
            } catch (RuntimeException e) {
                LOG.error("KV cache {}: consistency check crashed", c.spec().name(), e);
            }
        }
        return results;
    }

    @Override
    public KvCache create(KvCacheSpec spec) {
        if (closed) {
            throw new IllegalStateException("the KV cache manager is closed");
        }
        PagedKvCache[] holder = new PagedKvCache[1];
        PagedKvCache cache = new PagedKvCache(spec, settings, dataDirectory, false, () -> caches.remove(holder[0]));
        holder[0] = cache;
        cache.ownCapacity = spec.capacityBytes();
        caches.add(cache);
        LOG.info("KV cache {} created for model version {}: {} per token in {}, {} MiB hot", spec.name(),
                spec.modelVersion(), cache.spec().layout(), cache.spec().defaultDType(),
                cache.spec().capacityBytes() >> 20);
        return cache;
    }

    @Override
    public List<KvCache> caches() {
        return List.copyOf(caches);
    }

    /** The settings in force. */
    public KvCacheSettings settings() {
        return settings;
    }

    @Deactivate
    @Override
    public void close() {
        closed = true;
        checker.shutdownNow();
        for (PagedKvCache c : caches) {
            c.close();
        }
        caches.clear();
        dataDirectories.forEach(DataDirectory::close);
    }

    @Override
    public List<Health> health() {
        List<Health> all = new ArrayList<>();
        KvCacheSettings s = settings;
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put("caches", Integer.toString(caches.size()));
        attrs.put("blockSizeTokens", Integer.toString(s.blockSizeTokens()));
        attrs.put("kernels", Vectors.describe());
        all.add(new Health("kvcache", Health.Status.UP, true, caches.size() + " caches", attrs));
        for (PagedKvCache c : caches) {
            KvUsage u = c.usage();
            Map<String, String> a = new LinkedHashMap<>();
            a.put("modelVersion", c.spec().modelVersion());
            a.put("usedBytes", Long.toString(u.usedBytes()));
            a.put("cachedBytes", Long.toString(u.cachedBytes()));
            a.put("capacityBytes", Long.toString(u.capacityBytes()));
            PagedKvCache.TierStats t = c.tierStats();
            a.put("offHeapBytes", Long.toString(u.offHeapBytes()));
            a.put("offHeapCapacityBytes", Long.toString(t.offHeapCapacity()));
            a.put("diskBytes", Long.toString(u.diskBytes()));
            a.put("diskCapacityBytes", Long.toString(t.diskCapacity()));
            a.put("diskFiles", Integer.toString(t.diskFiles()));
            a.put("offloads", Long.toString(t.offloads()));
            a.put("promotions", Long.toString(t.promotions()));
            a.put("tierFailures", Long.toString(t.failures()));
            a.put("sequences", Integer.toString(u.sequences()));
            a.put("prefixHitRate", String.format(Locale.ROOT, "%.3f", u.prefixHitRate()));
            a.put("drops", Long.toString(u.drops()));
            KvCheck failed = c.lastFailedCheck();
            String detail = String.format(Locale.ROOT, "%d sequences, %.1f of %.1f MiB hot used, hit rate %.1f%%",
                    u.sequences(), u.usedBytes() / 1048576.0, u.capacityBytes() / 1048576.0,
                    100 * u.prefixHitRate());
            String component = "kvcache/" + c.spec().name();
            if (failed != null) {
                all.add(new Health(component, Health.Status.DEGRADED, true,
                        "dropped after a failed consistency check: " + failed.problems().get(0), a));
            } else if (t.nanosSinceFailure() < TimeUnit.MINUTES.toNanos(5)) {
                all.add(new Health(component, Health.Status.DEGRADED, true, detail + "; blocks could not move to"
                        + " off-heap memory or disk in the last 5 minutes (see the log)", a));
            } else {
                all.add(new Health(component, Health.Status.UP, true, detail, a));
            }
        }
        return all;
    }
}
