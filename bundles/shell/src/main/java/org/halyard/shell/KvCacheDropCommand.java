package org.halyard.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvUsage;

/**
 * {@code halyard:kvcache-drop}: wipes the KV caches (all, or one by name). Requests in flight
 * lose their keys and values and rebuild them by re-prefill; nothing is lost but time. Without
 * {@code --force} it only says what it would drop: it is also the cache-rebuild chaos drill
 * (runbooks/kvcache-drop-drill.md).
 */
@Command(scope = "halyard", name = "kvcache-drop", description = "Wipes the KV caches; requests in flight rebuild their KV by re-prefill")
@Service
public class KvCacheDropCommand extends HalyardCommandSupport {

    @Argument(index = 0, name = "cache", description = "The cache to drop (default: every cache)")
    String cache;

    @Option(name = "-f", aliases = "--force", description = "Drop without asking: without it the command only shows what it would drop")
    boolean force;

    @Override
    public Object execute() {
        List<KvCache> caches = KvCacheCommand.caches(services(KvCacheManager.class, null), cache);
        if (caches.isEmpty()) {
            System.out.println(cache == null ? "No KV cache is open." : "No KV cache named " + cache + ".");
            return null;
        }
        for (KvCache c : caches) {
            KvUsage u = c.usage();
            String what = c.spec().name() + " (" + u.sequences() + " sequences, "
                    + KvCacheCommand.bytes(u.usedBytes() + u.cachedBytes() + u.offHeapBytes() + u.diskBytes()) + ")";
            if (force) {
                c.drop();
                System.out.println("Dropped " + what + ": its sequences rebuild by re-prefill.");
            } else {
                System.out.println("Would drop " + what + ".");
            }
        }
        if (!force) {
            System.out.println("Nothing dropped: run again with --force to drop.");
        }
        return null;
    }

    public void setCache(String cache) {
        this.cache = cache;
    }

    public void setForce(boolean force) {
        this.force = force;
    }
}
