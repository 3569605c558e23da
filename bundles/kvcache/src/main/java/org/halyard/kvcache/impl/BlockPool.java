package org.halyard.kvcache.impl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.block.BlockData;

/**
 * The blocks of one cache: ids, reference counts, the prefix cache (hash to block) and, per tier,
 * the least-recently-used queue of cached blocks nobody references. Exact accounting: every block
 * is in one state (used, or cached) in one tier, and the counters are moved by {@link #account}
 * around each change of state, so they always equal the sum over the blocks ({@link #check}
 * recomputes them).
 *
 * <pre>
 *   allocate ─▶ used (refCount ≥ 1) ── release, refCount 0 ──▶ cached (published: in byHash + LRU)
 *                 ▲                                          └─▶ freed (not published: id reused)
 *                 └──── prefix hit (ref) ◀── cached ── evict (LRU head) ──▶ freed, or demoted a tier
 * </pre>
 *
 * <p>Not thread-safe: {@link PagedKvCache} calls it under its lock only.
 */
final class BlockPool {

    private final ArrayList<Block> byId = new ArrayList<>();
    private final ArrayDeque<Integer> freeIds = new ArrayDeque<>();
    private final Map<BlockHash, Block> byHash = new HashMap<>();
    private final EnumMap<Tier, LinkedHashSet<Block>> lru = new EnumMap<>(Tier.class);

    private final long[] used = new long[Tier.values().length];
    private final long[] cached = new long[Tier.values().length];
    private final long[] shared = new long[Tier.values().length];
    private long usedBlocks;
    private long cachedBlocks;
    private long evictions;

    /** The hot tier's capacity in bytes. */
    long hotCapacity;
    /** Called with a tier slot (a disk slot) that no block uses any more. */
    private final java.util.function.Consumer<Object> releaseSlot;

    BlockPool(long hotCapacity, java.util.function.Consumer<Object> releaseSlot) {
        this.hotCapacity = hotCapacity;
        this.releaseSlot = releaseSlot;
        for (Tier t : Tier.values()) {
            lru.put(t, new LinkedHashSet<>());
        }
    }

    // ---- accounting ----

    /** Adds ({@code sign} 1) or removes (-1) a live block's bytes from the counters of its state. */
    private void account(Block b, int sign) {
        int t = b.tier.ordinal();
        long bytes = sign * b.bytes;
        if (b.refCount > 0) {
            used[t] += bytes;
            usedBlocks += sign;
            if (b.refCount > 1) {
                shared[t] += bytes;
            }
        } else {
            cached[t] += bytes;
            cachedBlocks += sign;
        }
    }

    long used(Tier t) {
        return used[t.ordinal()];
    }

    long cached(Tier t) {
        return cached[t.ordinal()];
    }

    long shared(Tier t) {
        return shared[t.ordinal()];
    }

    /** Bytes in a tier, used and cached. */
    long held(Tier t) {
        return used[t.ordinal()] + cached[t.ordinal()];
    }

    long usedBlocks() {
        return usedBlocks;
    }

    long cachedBlocks() {
        return cachedBlocks;
    }

    long evictions() {
        return evictions;
    }

    long hotFree() {
        return hotCapacity - used[Tier.HOT.ordinal()] - cached[Tier.HOT.ordinal()];
    }

    // ---- lifecycle of a block ----

    /** A new block, referenced once, in the hot tier: takes the oldest free id, else a new one. */
    Block add(KvDType dtype, BlockData data) {
        Integer free = freeIds.pollFirst();
        int id = free != null ? free : byId.size();
        Block b = new Block(id, dtype, data);
        b.refCount = 1;
        if (id == byId.size()) {
            byId.add(b);
        } else {
            byId.set(id, b);
        }
        account(b, 1);
        return b;
    }

    /** One more sequence holds {@code b} (a prefix hit): a cached block leaves its LRU queue. */
    void ref(Block b) {
        account(b, -1);
        if (b.refCount == 0) {
            lru.get(b.tier).remove(b);
        }
        b.refCount++;
        account(b, 1);
    }

    /**
     * One sequence fewer holds {@code b}. At zero, a published block joins the tail of its tier's
     * LRU queue (the prefix cache keeps it until evicted); any other block is freed.
     */
    void unref(Block b) {
        account(b, -1);
        b.refCount--;
        if (b.refCount > 0) {
            account(b, 1);
        } else if (b.published) {
            lru.get(b.tier).add(b);
            account(b, 1);
        } else {
            free(b);
        }
    }

    /**
     * Seals a full block: installs its sealed data (INT8 blocks shrink here) and, when asked and no
     * other block holds the same hash, publishes it to the prefix cache.
     */
    void seal(Block b, BlockData sealedData, BlockHash hash, boolean publish) {
        account(b, -1);
        b.data = sealedData;
        b.bytes = sealedData.bytes();
        b.sealed = true;
        b.hash = hash;
        if (publish && hash != null && !byHash.containsKey(hash)) {
            byHash.put(hash, b);
            b.published = true;
        }
        account(b, 1);
    }

    /** Moves a sealed block's data to another tier; its old slot, if any, is released. */
    void move(Block b, BlockData data, Tier tier, Object slot) {
        if (!b.sealed) {
            throw new IllegalStateException("only sealed blocks change tier: " + b);
        }
        account(b, -1);
        boolean queued = b.refCount == 0 && lru.get(b.tier).remove(b);
        if (b.slot != null && b.slot != slot) {
            releaseSlot.accept(b.slot);
        }
        b.data = data;
        b.bytes = data.bytes();
        b.tier = tier;
        b.slot = slot;
        if (queued) {
            lru.get(tier).add(b);
        }
        account(b, 1);
    }

    /** The live block with an id, or null. */
    Block get(int id) {
        return id >= 0 && id < byId.size() ? byId.get(id) : null;
    }

    /** The published block for a hash, if any. */
    Block lookup(BlockHash hash) {
        return byHash.get(hash);
    }

    /** Cached blocks of a tier, least recently used first. */
    List<Block> lruQueue(Tier tier) {
        return new ArrayList<>(lru.get(tier));
    }

    /** The least recently used cached block of a tier, or null. */
    Block lruHead(Tier tier) {
        Iterator<Block> it = lru.get(tier).iterator();
        return it.hasNext() ? it.next() : null;
    }

    /** Drops a cached block from the prefix cache and frees it. */
    void evict(Block b) {
        if (b.refCount != 0) {
            throw new IllegalStateException("cannot evict a referenced " + b);
        }
        account(b, -1);
        lru.get(b.tier).remove(b);
        evictions++;
        free(b);
    }

    /** A block no longer counted: out of the prefix cache, its id free again. */
    private void free(Block b) {
        if (b.published) {
            byHash.remove(b.hash);
            b.published = false;
        }
        if (b.slot != null) {
            releaseSlot.accept(b.slot);
            b.slot = null;
        }
        byId.set(b.id, null);
        freeIds.addLast(b.id);
        b.refCount = 0;
        b.tier = null;
    }

    /** Every live block (used or cached). */
    List<Block> blocks() {
        List<Block> all = new ArrayList<>();
        for (Block b : byId) {
            if (b != null) {
                all.add(b);
            }
        }
        return all;
    }

    /** Forgets every block (after a drop): ids start from 0 again. */
    void clear() {
        byId.clear();
        freeIds.clear();
        byHash.clear();
        lru.values().forEach(LinkedHashSet::clear);
        java.util.Arrays.fill(used, 0);
        java.util.Arrays.fill(cached, 0);
        java.util.Arrays.fill(shared, 0);
        usedBlocks = 0;
        cachedBlocks = 0;
    }

    // ---- consistency ----

    /**
     * Checks the pool against the block tables of the open sequences; returns what does not hold.
     *
     * @param references how many open block tables hold each block id
     */
    List<String> check(Map<Integer, Integer> references) {
        List<String> problems = new ArrayList<>();
        long[] u = new long[used.length];
        long[] c = new long[used.length];
        long[] s = new long[used.length];
        long ub = 0;
        long cb = 0;
        for (int id = 0; id < byId.size(); id++) {
            Block b = byId.get(id);
            if (b == null) {
                if (!freeIds.contains(id)) {
                    problems.add("id " + id + " is neither used nor free");
                }
                continue;
            }
            if (b.id != id) {
                problems.add(b + " is filed under id " + id);
            }
            if (freeIds.contains(id)) {
                problems.add(b + " is live but its id is free");
            }
            int refs = references.getOrDefault(id, 0);
            if (b.refCount != refs) {
                problems.add(b + " counts " + b.refCount + " references, block tables hold " + refs);
            }
            if (b.tier == null) {
                problems.add(b + " has no tier");
                continue;
            }
            BlockData d = b.data;
            if (d == null || d.bytes() != b.bytes) {
                problems.add(b + " accounts " + b.bytes + " bytes, its data holds " + (d == null ? "none" : d.bytes()));
            }
            if (d != null && d.onHeap() != (b.tier == Tier.HOT)) {
                problems.add(b + " is in tier " + b.tier + " but its data is " + (d.onHeap() ? "on" : "off") + " the heap");
            }
            if (b.sealed == (d != null && d.writable())) {
                problems.add(b + (b.sealed ? " is sealed but writable" : " is open but not writable"));
            }
            if ((b.tier == Tier.DISK) != (b.slot != null)) {
                problems.add(b + (b.slot == null ? " is on disk without a slot" : " holds a disk slot off disk"));
            }
            if (b.tier != Tier.HOT && !b.sealed) {
                problems.add(b + " left the hot tier unsealed");
            }
            if (b.published && byHash.get(b.hash) != b) {
                problems.add(b + " is published but the prefix cache maps its hash elsewhere");
            }
            boolean queued = lru.get(b.tier).contains(b);
            if (b.refCount == 0) {
                if (!b.published) {
                    problems.add(b + " is unreferenced and unpublished but not freed");
                }
                if (!queued) {
                    problems.add(b + " is cached but not in the " + b.tier + " LRU queue");
                }
                c[b.tier.ordinal()] += b.bytes;
                cb++;
            } else {
                if (queued) {
                    problems.add(b + " is referenced but queued for eviction");
                }
                u[b.tier.ordinal()] += b.bytes;
                ub++;
                if (b.refCount > 1) {
                    s[b.tier.ordinal()] += b.bytes;
                }
            }
        }
        for (Map.Entry<BlockHash, Block> e : byHash.entrySet()) {
            Block b = e.getValue();
            if (b.id >= byId.size() || byId.get(b.id) != b || !b.published || !e.getKey().equals(b.hash)) {
                problems.add("prefix cache entry " + e.getKey().shortString() + " points at a stale " + b);
            }
        }
        for (Tier t : Tier.values()) {
            for (Block b : lru.get(t)) {
                if (b.tier != t || b.refCount != 0 || b.id >= byId.size() || byId.get(b.id) != b) {
                    problems.add("the " + t + " LRU queue holds a stale " + b);
                }
            }
            int i = t.ordinal();
            if (u[i] != used[i] || c[i] != cached[i] || s[i] != shared[i]) {
                problems.add(t + " accounting is off: used " + used[i] + " (blocks say " + u[i] + "), cached "
                        + cached[i] + " (" + c[i] + "), shared " + shared[i] + " (" + s[i] + ")");
            }
        }
        if (ub != usedBlocks || cb != cachedBlocks) {
            problems.add("block counts are off: used " + usedBlocks + " (blocks say " + ub + "), cached "
                    + cachedBlocks + " (" + cb + ")");
        }
        return problems;
    }

    /** Test hook: breaks an invariant the way a bug would. */
    void corruptForTest(Block b, int refCountDelta) {
        b.refCount += refCountDelta;
    }
}
