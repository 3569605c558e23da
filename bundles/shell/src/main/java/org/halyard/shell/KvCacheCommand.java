package org.halyard.shell;

import java.util.List;
import java.util.Locale;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvCheck;
import org.halyard.kvcache.api.KvUsage;

/**
 * {@code halyard:kvcache}: every KV cache with its memory by tier, sequences and prefix-cache
 * counters; {@code --check} runs each cache's consistency check first.
 */
@Command(scope = "halyard", name = "kvcache", description = "Shows the KV caches: memory per tier, sequences, prefix hit rate")
@Service
public class KvCacheCommand extends HalyardCommandSupport {

    @Option(name = "-c", aliases = "--cache", description = "Only the cache with this name")
    String cache;

    @Option(name = "--check", description = "Run each cache's consistency check (a cache that fails it is dropped)")
    boolean check;

    @Override
    public Object execute() {
        List<KvCache> caches = caches(services(KvCacheManager.class, null), cache);
        if (caches.isEmpty()) {
            System.out.println(cache == null ? "no KV cache open" : "no KV cache " + cache);
            return null;
        }
        ShellTable memory = new ShellTable();
        memory.column("Cache");
        memory.column("Model version");
        memory.column("Seqs").alignRight();
        memory.column("Hot used").alignRight();
        memory.column("Cached").alignRight();
        memory.column("Free").alignRight();
        memory.column("Capacity").alignRight();
        memory.column("Shared").alignRight();
        memory.column("Off-heap").alignRight();
        memory.column("Disk").alignRight();
        ShellTable prefix = new ShellTable();
        prefix.column("Cache");
        prefix.column("Block").alignRight();
        prefix.column("Blocks used").alignRight();
        prefix.column("Blocks cached").alignRight();
        prefix.column("Hit tokens").alignRight();
        prefix.column("Miss tokens").alignRight();
        prefix.column("Hit rate").alignRight();
        prefix.column("Evictions").alignRight();
        prefix.column("Drops").alignRight();
        for (KvCache c : caches) {
            String name = c.spec().name();
            if (check) {
                KvCheck r = c.check();
                System.out.println(name + ": " + (r.consistent() ? "consistent"
                        : "INCONSISTENT, dropped: " + String.join("; ", r.problems())));
            }
            KvUsage u = c.usage();
            memory.addRow().addContent(name, StatusCommand.shortVersion(c.spec().modelVersion()), u.sequences(),
                    bytes(u.usedBytes()), bytes(u.cachedBytes()), bytes(u.freeBytes()), bytes(u.capacityBytes()),
                    bytes(u.sharedBytes()), bytes(u.offHeapBytes()), bytes(u.diskBytes()));
            prefix.addRow().addContent(name, u.blockSizeTokens(), u.blocksUsed(), u.blocksCached(),
                    u.prefixHitTokens(), u.prefixMissTokens(),
                    String.format(Locale.ROOT, "%.1f%%", 100 * u.prefixHitRate()), u.evictions(), u.drops());
        }
        memory.print(System.out, !noFormat);
        System.out.println();
        prefix.print(System.out, !noFormat);
        return null;
    }

    /** The caches of every manager, or only those named {@code name}. */
    static List<KvCache> caches(List<Found<KvCacheManager>> managers, String name) {
        return managers.stream().flatMap(m -> m.service().caches().stream())
                .filter(c -> name == null || c.spec().name().equals(name)).toList();
    }

    /** Bytes for people: 0, 512 B, 3.2 KiB, 256.0 MiB, 4.0 GiB. */
    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    public void setCache(String cache) {
        this.cache = cache;
    }

    public void setCheck(boolean check) {
        this.check = check;
    }
}
