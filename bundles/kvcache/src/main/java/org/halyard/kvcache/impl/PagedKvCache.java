package org.halyard.kvcache.impl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvCheck;
import org.halyard.kvcache.api.KeyRewriter;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.kvcache.impl.block.BlockData;
import org.halyard.kvcache.impl.block.BlockShape;
import org.halyard.kvcache.impl.tier.DataDirectory;
import org.halyard.kvcache.impl.tier.DiskTier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A paged KV cache for one model version: a {@link BlockPool} of fixed-size blocks, the open
 * sequences' block tables, and prefix sharing of full blocks.
 *
 * <p>Locking: one lock guards the pool and every block table change ({@link #open},
 * {@link #allocate}, commit's sealing, {@link #release}, {@link #drop}, {@link #check},
 * {@link #usage}). The engine's reads and writes of slots never take it: they follow volatile
 * references to immutable tables and sealed data (see {@link PagedKvSequence}), so sequences
 * decode side by side while the scheduler allocates. Work that needs no shared state (hashing,
 * zeroing new blocks, quantising) runs before the lock is taken.
 *
 * <p>Tiers: sealed blocks may leave the hot pool for off-heap memory and then for memory-mapped
 * files, and attention reads them where they are (the kernels work on buffers as on arrays), so a
 * sequence can hold more than the hot pool. Two things move blocks down: a cached block evicted
 * from the hot pool (when {@code offloadCachedBlocks}), and a sequence opened with
 * {@code offload} that needs room, whose own oldest blocks go. A prefix hit brings a cold block
 * back to the hot pool when there is room (promote on reuse); a sequence keeps reading its own
 * offloaded blocks in place, because moving them back and forth every step would cost more than
 * reading them where they are.
 *
 * <pre>
 *   hot (arrays) ── evict cached / offload own ──▶ off-heap (direct) ──▶ disk (mapped) ──▶ forgotten
 *        ▲                                              │                    │
 *        └──────────── prefix hit, room in hot ─────────┴────────────────────┘
 * </pre>
 */
public final class PagedKvCache implements KvCache {

    private static final Logger LOG = LoggerFactory.getLogger(PagedKvCache.class);

    private final KvCacheSpec spec;
    private final BlockShape shape;
    private final int blockSize;
    private final Runnable onClose;

    private final ReentrantLock lock = new ReentrantLock();
    private final BlockPool pool;
    private final Set<PagedKvSequence> sequences = new LinkedHashSet<>();
    private long hitTokens;
    private long missTokens;
    private long drops;
    private long offloads;
    private long promotions;
    private long tierFailures;
    private long discardedTokens;
    private long rewrittenKeys;
    private long lastTierFailureNanos;
    private volatile boolean closed;

    private long offHeapCapacity;
    private long diskCapacity;
    private boolean offloadCached;
    private final DataDirectory dataDirectory;
    private final boolean ownsDataDirectory;
    /** Created when the first block goes to disk. */
    private DiskTier disk;
    /** The last check that failed, until one passes. */
    private volatile KvCheck lastFailedCheck;
    /** The capacity the creator asked for (0: the manager's default, which follows its config). */
    volatile long ownCapacity;

    /** A cache on its own (without a manager), for tests and plain-Java use. */
    public PagedKvCache(KvCacheSpec spec, KvCacheSettings settings) {
        this(spec, settings, new DataDirectory(settings.dataDirectory()), true, () -> { });
    }

    PagedKvCache(KvCacheSpec spec, KvCacheSettings settings, DataDirectory dataDirectory, boolean ownsDataDirectory,
            Runnable onClose) {
        Objects.requireNonNull(spec, "spec");
        KvDType dtype = settings.defaultDType() != null ? settings.defaultDType() : spec.defaultDType();
        long capacity = spec.capacityBytes() > 0 ? spec.capacityBytes() : settings.capacityBytes();
        this.spec = new KvCacheSpec(spec.name(), spec.modelVersion(), spec.layout(), dtype, capacity);
        this.blockSize = settings.blockSizeTokens();
        this.shape = BlockShape.of(spec.layout(), blockSize);
        this.pool = new BlockPool(capacity, slot -> disk.free((DiskTier.Slot) slot));
        this.onClose = onClose;
        this.offHeapCapacity = settings.offHeapCapacityBytes();
        this.diskCapacity = settings.diskCapacityBytes();
        this.offloadCached = settings.offloadCachedBlocks();
        this.dataDirectory = dataDirectory;
        this.ownsDataDirectory = ownsDataDirectory;
    }

    @Override
    public KvCacheSpec spec() {
        return spec;
    }

    @Override
    public int blockSizeTokens() {
        return blockSize;
    }

    BlockShape shape() {
        return shape;
    }

    // ---- scheduler side ----

    @Override
    public KvSequence open(String sequenceId, int[] promptTokens, KvSequenceOptions options) {
        Objects.requireNonNull(sequenceId, "sequenceId");
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(options, "options");
        checkOpen();
        KvDType dtype = options.dtype();
        int promptLength = promptTokens.length;
        BlockHash root = BlockHashes.root(spec.modelVersion(), dtype, options.salt());
        BlockHash[] hashes = new BlockHash[options.usePrefixCache() ? promptLength / blockSize : 0];
        for (int i = 0; i < hashes.length; i++) {
            hashes[i] = BlockHashes.chain(i == 0 ? root : hashes[i - 1], promptTokens, i * blockSize, blockSize,
                    List.of());
        }
        lock.lock();
        try {
            checkOpen();
            int hits = 0;
            while (hits < hashes.length && pool.lookup(hashes[hits]) != null) {
                hits++;
            }
            Block[] table = new Block[hits];
            for (int i = 0; i < hits; i++) {
                table[i] = pool.lookup(hashes[i]);
                pool.ref(table[i]);
            }
            for (int i = 0; i < hits; i++) {
                if (table[i].tier != Tier.HOT && makeRoom(table[i].bytes, null) && moveTo(table[i], Tier.HOT)) {
                    promotions++;
                }
            }
            int length = hits * blockSize;
            int capacity = length;
            if (hits > 0 && length == promptLength) {
                // every prompt token is cached, but the model must compute the last one to give
                // logits: the sequence writes that slot again, into its own copy of the last block
                Block shared = table[hits - 1];
                if (makeRoom(shape.openBytes(dtype), null)) {
                    table[hits - 1] = pool.add(dtype, shared.data.openCopy());
                    length = promptLength - 1;
                    capacity = promptLength;
                } else {
                    // no room for the copy: compute the whole last block again instead
                    table = Arrays.copyOf(table, hits - 1);
                    length = capacity = (hits - 1) * blockSize;
                }
                pool.unref(shared);
            }
            int sealedBlocks = length / blockSize;
            BlockHash last = sealedBlocks > 0 ? hashes[sealedBlocks - 1] : root;
            PagedKvSequence s = new PagedKvSequence(this, sequenceId, options, root, table, length, capacity,
                    options.usePrefixCache() ? last : null);
            s.pendingCount = length - sealedBlocks * blockSize;
            System.arraycopy(promptTokens, sealedBlocks * blockSize, s.pending, 0, s.pendingCount);
            sequences.add(s);
            hitTokens += length;
            missTokens += promptLength - length;
            return s;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean allocate(KvSequence sequence, int newTokens) {
        PagedKvSequence s = own(sequence);
        if (newTokens < 0) {
            throw new IllegalArgumentException("newTokens must not be negative: " + newTokens);
        }
        s.checkValid();
        KvDType dtype = s.options().dtype();
        long newCapacity = (long) s.capacityUnchecked() + newTokens;
        if (newCapacity > Integer.MAX_VALUE - blockSize) {
            return false;
        }
        int have = s.table.length;
        int need = (int) ((newCapacity + blockSize - 1) / blockSize) - have;
        if (need <= 0) {
            lock.lock();
            try {
                checkLive(s);
                s.setCapacity((int) newCapacity);
                return true;
            } finally {
                lock.unlock();
            }
        }
        // zeroing new blocks is the slow part of allocating: do it before taking the lock
        BlockData[] fresh = new BlockData[need];
        for (int i = 0; i < need; i++) {
            fresh[i] = BlockData.open(dtype, shape);
        }
        lock.lock();
        try {
            checkLive(s);
            if (s.table.length != have) {
                throw new IllegalStateException("sequence " + s.id() + " is being allocated from two threads");
            }
            // the budget counts what the sequence holds at most: its sealed blocks, and the blocks
            // being written at their open size (INT8 blocks are staged as F32 until sealed)
            long maxBytes = s.options().maxBytes();
            if (maxBytes > 0) {
                long held = 0;
                for (Block b : s.table) {
                    held += b.sealed ? shape.bytes(dtype) : shape.openBytes(dtype);
                }
                if (held + need * shape.openBytes(dtype) > maxBytes) {
                    return false;
                }
            }
            if (!makeRoom(need * shape.openBytes(dtype), s)) {
                return false;
            }
            Block[] table = Arrays.copyOf(s.table, have + need);
            for (int i = 0; i < need; i++) {
                table[have + i] = pool.add(dtype, fresh[i]);
            }
            s.table = table; // publish the table before the capacity that needs it
            s.setCapacity((int) newCapacity);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Commits slots; see {@link KvSequence#commit}. Full blocks are sealed and published. */
    void commit(PagedKvSequence s, int[] tokens, int off, int count) {
        Block[] table = s.table; // before the validity check: a drop empties the table after invalidating
        s.checkValid();
        Objects.checkFromIndexSize(off, count, tokens.length);
        int length = s.lengthUnchecked();
        if ((long) length + count > s.capacityUnchecked()) {
            throw new IndexOutOfBoundsException("cannot commit " + count + " slots after " + length
                    + ": sequence " + s.id() + " has " + s.capacityUnchecked() + " allocated");
        }
        boolean prefix = s.publishes;
        List<Block> full = new ArrayList<>();
        List<BlockData> sealed = new ArrayList<>();
        List<BlockHash> hashes = new ArrayList<>();
        int pos = length;
        for (int i = 0; i < count; i++) {
            s.pending[s.pendingCount++] = tokens[off + i];
            pos++;
            if (s.pendingCount == blockSize) {
                Block b = table[pos / blockSize - 1];
                BlockHash h = prefix ? BlockHashes.chain(s.lastHash, s.pending, 0, blockSize, List.of()) : null;
                s.lastHash = h;
                full.add(b);
                sealed.add(b.data.seal()); // quantising (INT8) outside the lock
                hashes.add(h);
                s.pendingCount = 0;
            }
        }
        lock.lock();
        try {
            checkLive(s);
            for (int i = 0; i < full.size(); i++) {
                pool.seal(full.get(i), sealed.get(i), hashes.get(i), prefix);
            }
            s.setLength(length + count);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void release(KvSequence sequence) {
        PagedKvSequence s = own(sequence);
        lock.lock();
        try {
            if (s.released) {
                return;
            }
            s.released = true;
            sequences.remove(s);
            if (s.valid()) {
                Block[] table = s.table;
                // last block first: it joins the LRU queue first, so a chain is evicted from its
                // tail and its prefix stays usable longest
                for (int i = table.length - 1; i >= 0; i--) {
                    pool.unref(table[i]);
                }
                s.invalidate("released");
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes whole sealed blocks from a sequence's table; see {@link KvCache#discard}.
     *
     * <pre>
     *   before:  [ b0 | b1 | b2 | b3 | b4 (open) ]   discard(16, 48), B = 16
     *   after:   [ b0 | b3 | b4 (open) ]             b1, b2 unreferenced (cached if published)
     * </pre>
     */
    @Override
    public void discard(KvSequence sequence, int from, int to) {
        PagedKvSequence s = own(sequence);
        s.checkValid();
        lock.lock();
        try {
            checkLive(s);
            int length = s.lengthUnchecked();
            int sealedEnd = length / blockSize * blockSize;
            if (from < 0 || from >= to || to > sealedEnd || from % blockSize != 0 || to % blockSize != 0) {
                throw new IllegalArgumentException("slots [" + from + ", " + to + ") are not whole sealed blocks of "
                        + "sequence " + s.id() + " (length " + length + ", blocks of " + blockSize + ")");
            }
            Block[] old = s.table;
            int b0 = from / blockSize;
            int b1 = to / blockSize;
            int d = to - from;
            Block[] table = new Block[old.length - (b1 - b0)];
            System.arraycopy(old, 0, table, 0, b0);
            System.arraycopy(old, b1, table, b0, old.length - b1);
            // the reverse order of allocate: the capacity shrinks before the table it covers
            s.setCapacity(s.capacityUnchecked() - d);
            s.setLength(length - d);
            s.table = table;
            for (int i = b1 - 1; i >= b0; i--) {
                pool.unref(old[i]);
            }
            // what it computes from now on attended to a window, not to its whole prefix
            s.publishes = false;
            s.lastHash = null;
            discardedTokens += d;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Rewrites keys; see {@link KvSequence#rewriteKeys}. The open block is changed in place; each
     * sealed block gets new sealed data built outside the lock (an open copy rewritten and sealed
     * again, so INT8 is quantised once more), installed under it: into the same block, in its
     * tier, when only this sequence holds it and the prefix cache does not, else into a private
     * copy (copy-on-write).
     */
    void rewriteKeys(PagedKvSequence s, int from, int to, KeyRewriter rewriter) {
        Objects.requireNonNull(rewriter, "rewriter");
        Block[] table = s.table; // before the validity check, as in commit
        s.checkValid();
        int length = s.lengthUnchecked();
        if (from < 0 || to > length || from > to) {
            throw new IndexOutOfBoundsException("slots [" + from + ", " + to + ") are not committed slots of "
                    + "sequence " + s.id() + " (length " + length + ")");
        }
        if (from == to) {
            return;
        }
        float[] key = new float[shape.headDim()];
        BlockData[] sealed = new BlockData[table.length];
        for (int bi = from / blockSize; bi <= (to - 1) / blockSize; bi++) {
            int base = bi * blockSize;
            BlockData data = table[bi].data;
            BlockData target = data.writable() ? data : data.openCopy();
            for (int t = Math.max(from, base) - base; t < Math.min(to, base + blockSize) - base; t++) {
                for (int l = 0; l < shape.layers(); l++) {
                    for (int h = 0; h < shape.kvHeads(); h++) {
                        target.readRow(false, l, h, t, key, 0);
                        rewriter.rewrite(l, h, base + t, key, 0);
                        target.writeKey(l, h, t, key, 0);
                    }
                }
            }
            if (target != data) {
                sealed[bi] = target.seal();
            }
        }
        lock.lock();
        try {
            checkLive(s);
            Block[] t = s.table.clone();
            boolean copied = false;
            for (int bi = 0; bi < sealed.length; bi++) {
                if (sealed[bi] == null) {
                    continue;
                }
                Block b = t[bi];
                Tier tier = b.tier;
                if (b.refCount == 1 && !b.published) {
                    b.hash = null;
                    if (!moveTo(b, tier, sealed[bi])) {
                        pool.move(b, sealed[bi], Tier.HOT, null);
                    }
                } else {
                    Block c = pool.add(b.dtype, sealed[bi]);
                    pool.seal(c, sealed[bi], null, false);
                    t[bi] = c;
                    copied = true;
                    pool.unref(b);
                    if (tier != Tier.HOT) {
                        placeIn(c, tier); // else it stays hot
                    }
                }
            }
            if (copied) {
                s.table = t;
            }
            rewrittenKeys += (long) (to - from) * shape.heads(); // key vectors: slots x layers x heads
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees hot-tier bytes until {@code need} fit: pushes cached blocks down a tier (or forgets
     * them), least recently used first, then, for a sequence that allows it, moves that
     * sequence's own oldest sealed blocks out. Changes nothing when even that would not be enough.
     */
    private boolean makeRoom(long need, PagedKvSequence forSequence) {
        if (pool.hotFree() >= need) {
            return true;
        }
        boolean offloadOwn = forSequence != null && forSequence.options().offload()
                && (offHeapCapacity > 0 || diskCapacity > 0);
        long reclaimable = pool.cached(Tier.HOT) + (offloadOwn ? offloadable(forSequence) : 0);
        if (pool.hotFree() + reclaimable < need) {
            return false;
        }
        Block victim;
        while (pool.hotFree() < need && (victim = pool.lruHead(Tier.HOT)) != null) {
            pushDown(victim);
        }
        if (pool.hotFree() < need && offloadOwn) {
            for (Block b : forSequence.table) {
                if (pool.hotFree() >= need) {
                    break;
                }
                if (b.tier == Tier.HOT && b.sealed && b.refCount == 1) {
                    if (!placeIn(b, Tier.OFF_HEAP) && !placeIn(b, Tier.DISK)) {
                        break;
                    }
                    offloads++;
                }
            }
        }
        return pool.hotFree() >= need;
    }

    /** Hot bytes a sequence could move out: its sealed blocks nobody else holds, within the cold tiers' room. */
    private long offloadable(PagedKvSequence s) {
        long own = 0;
        for (Block b : s.table) {
            if (b.tier == Tier.HOT && b.sealed && b.refCount == 1) {
                own += b.bytes;
            }
        }
        long coldRoom = Math.max(0, offHeapCapacity - pool.used(Tier.OFF_HEAP))
                + Math.max(0, diskCapacity - pool.used(Tier.DISK));
        return Math.min(own, coldRoom);
    }

    /** A cached block leaves its tier: to the next tier down that takes it, or out of the cache. */
    private void pushDown(Block b) {
        if (offloadCached) {
            if (b.tier == Tier.HOT && placeIn(b, Tier.OFF_HEAP)) {
                offloads++;
                return;
            }
            if (b.tier != Tier.DISK && placeIn(b, Tier.DISK)) {
                offloads++;
                return;
            }
        }
        pool.evict(b);
    }

    /** Moves a sealed block into a cold tier, first pushing that tier's own cached blocks down. */
    private boolean placeIn(Block b, Tier tier) {
        long capacity = tier == Tier.OFF_HEAP ? offHeapCapacity : diskCapacity;
        long bytes = b.bytes;
        if (bytes > capacity) {
            return false;
        }
        Block victim;
        while (capacity - pool.held(tier) < bytes && (victim = pool.lruHead(tier)) != null) {
            pushDown(victim);
        }
        return capacity - pool.held(tier) >= bytes && moveTo(b, tier);
    }

    /** Copies a sealed block's data into a tier and points the block at it. */
    private boolean moveTo(Block b, Tier tier) {
        return moveTo(b, tier, b.data);
    }

    /** Puts sealed data {@code d} into a tier and points the block at it (its old data is left to the GC). */
    private boolean moveTo(Block b, Tier tier, BlockData d) {
        try {
            switch (tier) {
                case HOT -> pool.move(b, d.toHeap(), Tier.HOT, null);
                case OFF_HEAP -> {
                    ByteBuffer buf = ByteBuffer.allocateDirect((int) d.bytes()).order(ByteOrder.LITTLE_ENDIAN);
                    d.copyTo(buf);
                    pool.move(b, BlockData.wrap(b.dtype, shape, buf), Tier.OFF_HEAP, null);
                }
                case DISK -> {
                    DiskTier.Slot slot = disk().store(d);
                    pool.move(b, BlockData.wrap(b.dtype, shape, slot.buffer), Tier.DISK, slot);
                }
            }
            return true;
        } catch (IOException | OutOfMemoryError | RuntimeException e) {
            // direct memory past -XX:MaxDirectMemorySize, a full disk: the block stays where it is
            tierFailures++;
            lastTierFailureNanos = System.nanoTime();
            // a broken disk fails every move: log the 1st, 2nd, 4th, 8th ... not every one
            if (Long.bitCount(tierFailures) == 1) {
                LOG.warn("KV cache {}: could not move {} to {} ({} such failures so far): {}", spec.name(), b, tier,
                        tierFailures, e.toString());
            }
            return false;
        }
    }

    private DiskTier disk() throws IOException {
        if (disk == null) {
            disk = new DiskTier(dataDirectory.newCacheDir(spec.name()));
        }
        return disk;
    }

    // ---- the whole cache ----

    @Override
    public KvUsage usage() {
        lock.lock();
        try {
            return new KvUsage(blockSize, pool.hotCapacity, pool.used(Tier.HOT), pool.cached(Tier.HOT),
                    Math.max(0, pool.hotFree()), pool.shared(Tier.HOT), pool.held(Tier.OFF_HEAP),
                    pool.held(Tier.DISK), pool.usedBlocks(), pool.cachedBlocks(), sequences.size(), hitTokens,
                    missTokens, pool.evictions(), drops);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void drop() {
        drop("the cache was dropped");
    }

    private void drop(String reason) {
        lock.lock();
        try {
            for (PagedKvSequence s : sequences) {
                s.invalidate(reason);
                s.released = true; // holds nothing any more: its release is a no-op
            }
            sequences.clear();
            pool.clear();
            if (disk != null) {
                disk.clear();
            }
            drops++;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public KvCheck check() {
        List<String> problems;
        lock.lock();
        try {
            if (closed) {
                return new KvCheck(true, List.of(), false);
            }
            problems = new ArrayList<>();
            Map<Integer, Integer> references = new HashMap<>();
            for (PagedKvSequence s : sequences) {
                Block[] table = s.table;
                int length = s.lengthUnchecked();
                int capacity = s.capacityUnchecked();
                if (length > capacity || table.length != (capacity + blockSize - 1) / blockSize) {
                    problems.add("sequence " + s.id() + ": length " + length + ", capacity " + capacity + ", "
                            + table.length + " blocks of " + blockSize);
                }
                for (int i = 0; i < table.length; i++) {
                    Block b = table[i];
                    references.merge(b.id, 1, Integer::sum);
                    if (pool.get(b.id) != b) {
                        problems.add("sequence " + s.id() + " holds freed " + b);
                    }
                    if (b.dtype != s.options().dtype()) {
                        problems.add("sequence " + s.id() + " (" + s.options().dtype() + ") holds " + b);
                    }
                    if ((i + 1) * blockSize <= length && !b.sealed) {
                        problems.add("sequence " + s.id() + " committed all of " + b + " but it is not sealed");
                    }
                    if ((i + 1) * blockSize > length && b.sealed) {
                        problems.add("sequence " + s.id() + " has not filled " + b + " but it is sealed");
                    }
                }
            }
            problems.addAll(pool.check(references));
            for (Block b : pool.blocks()) {
                if (b.tier == Tier.DISK && (disk == null || !(b.slot instanceof DiskTier.Slot slot) || !disk.holds(slot))) {
                    problems.add(b + " points at a disk slot whose file is gone");
                }
            }
        } finally {
            lock.unlock();
        }
        if (problems.isEmpty()) {
            lastFailedCheck = null;
            return new KvCheck(true, List.of(), false);
        }
        drop("a consistency check failed: " + problems.get(0));
        KvCheck failed = new KvCheck(false, problems, true);
        lastFailedCheck = failed;
        return failed;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        drop("the cache was closed");
        closed = true;
        lock.lock();
        try {
            if (disk != null) {
                disk.clear();
                DataDirectory.deleteTree(disk.dir());
                disk = null;
            }
        } finally {
            lock.unlock();
        }
        if (ownsDataDirectory) {
            dataDirectory.close();
        }
        onClose.run();
    }

    /** The last check that failed (the cache was dropped then), or null once one passes. */
    KvCheck lastFailedCheck() {
        return lastFailedCheck;
    }

    boolean closed() {
        return closed;
    }

    /** Slots removed by {@link #discard} since creation, and key vectors rewritten. */
    long[] slideCounters() {
        lock.lock();
        try {
            return new long[] {discardedTokens, rewrittenKeys};
        } finally {
            lock.unlock();
        }
    }

    /** Applies a new hot capacity now, evicting cached blocks down to it (used blocks stay). */
    void setCapacityBytes(long capacity) {
        lock.lock();
        try {
            pool.hotCapacity = capacity;
            Block victim;
            while (pool.hotFree() < 0 && (victim = pool.lruHead(Tier.HOT)) != null) {
                pushDown(victim);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Applies new cold-tier settings now (blocks already moved stay where they are). */
    void setTiers(long offHeapCapacity, long diskCapacity, boolean offloadCached) {
        lock.lock();
        try {
            this.offHeapCapacity = offHeapCapacity;
            this.diskCapacity = diskCapacity;
            this.offloadCached = offloadCached;
        } finally {
            lock.unlock();
        }
    }

    /** What the tiers hold now, for the shell and health. */
    TierStats tierStats() {
        lock.lock();
        try {
            return new TierStats(pool.hotCapacity, pool.held(Tier.HOT), offHeapCapacity, pool.held(Tier.OFF_HEAP),
                    diskCapacity, pool.held(Tier.DISK), disk == null ? 0 : disk.files(),
                    disk == null ? 0 : disk.fileBytes(), offloads, promotions, tierFailures,
                    tierFailures == 0 ? Long.MAX_VALUE : System.nanoTime() - lastTierFailureNanos);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Memory per tier of one cache.
     *
     * @param offloads blocks moved down a tier since creation
     * @param promotions blocks brought back to the hot tier by a prefix hit since creation
     * @param failures moves that failed (no direct memory, a disk error) since creation
     * @param nanosSinceFailure how long ago the last of them was; {@code Long.MAX_VALUE} for never
     */
    record TierStats(long hotCapacity, long hotBytes, long offHeapCapacity, long offHeapBytes, long diskCapacity,
            long diskBytes, int diskFiles, long diskFileBytes, long offloads, long promotions, long failures,
            long nanosSinceFailure) {
    }

    // ---- helpers ----

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("KV cache " + spec.name() + " is closed");
        }
    }

    private PagedKvSequence own(KvSequence sequence) {
        Objects.requireNonNull(sequence, "sequence");
        if (!(sequence instanceof PagedKvSequence s) || s.cache != this) {
            throw new IllegalArgumentException("sequence " + sequence.id() + " belongs to another cache");
        }
        return s;
    }

    /** Under the lock: the sequence still holds its blocks. */
    private void checkLive(PagedKvSequence s) {
        s.checkValid();
        if (s.released) {
            throw new IllegalStateException("sequence " + s.id() + " was released");
        }
    }

    /** Test hook: moves a sealed block to a tier now. */
    boolean moveForTest(Block b, Tier tier) {
        lock.lock();
        try {
            return tier == Tier.HOT ? moveTo(b, tier) : placeIn(b, tier);
        } finally {
            lock.unlock();
        }
    }

    /** Test hook: the pool, to break invariants the way a bug would. */
    BlockPool poolForTest() {
        return pool;
    }

    @Override
    public String toString() {
        return "KvCache " + spec.name() + " (" + spec.modelVersion() + ")";
    }
}
