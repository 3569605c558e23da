package org.halyard.kvcache.impl;

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
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;
import org.halyard.kvcache.impl.block.BlockData;
import org.halyard.kvcache.impl.block.BlockShape;

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
 */
public final class PagedKvCache implements KvCache {

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
    private volatile boolean closed;
    /** The capacity the creator asked for (0: the manager's default, which follows its config). */
    volatile long ownCapacity;

    /** A cache on its own (without a manager), for tests and plain-Java use. */
    public PagedKvCache(KvCacheSpec spec, KvCacheSettings settings) {
        this(spec, settings, () -> { });
    }

    PagedKvCache(KvCacheSpec spec, KvCacheSettings settings, Runnable onClose) {
        Objects.requireNonNull(spec, "spec");
        KvDType dtype = settings.defaultDType() != null ? settings.defaultDType() : spec.defaultDType();
        long capacity = spec.capacityBytes() > 0 ? spec.capacityBytes() : settings.capacityBytes();
        this.spec = new KvCacheSpec(spec.name(), spec.modelVersion(), spec.layout(), dtype, capacity);
        this.blockSize = settings.blockSizeTokens();
        this.shape = BlockShape.of(spec.layout(), blockSize);
        this.pool = new BlockPool(capacity);
        this.onClose = onClose;
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
        long maxBytes = s.options().maxBytes();
        if (maxBytes > 0 && (long) (have + need) * shape.bytes(dtype) > maxBytes) {
            return false;
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
        s.checkValid();
        Objects.checkFromIndexSize(off, count, tokens.length);
        int length = s.lengthUnchecked();
        if ((long) length + count > s.capacityUnchecked()) {
            throw new IndexOutOfBoundsException("cannot commit " + count + " slots after " + length
                    + ": sequence " + s.id() + " has " + s.capacityUnchecked() + " allocated");
        }
        boolean prefix = s.options().usePrefixCache();
        Block[] table = s.table;
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
     * Frees hot-tier bytes until {@code need} fit: evicts cached blocks, least recently used
     * first. Changes nothing when even that would not be enough.
     */
    private boolean makeRoom(long need, PagedKvSequence forSequence) {
        if (pool.hotFree() >= need) {
            return true;
        }
        if (pool.hotFree() + pool.cached(Tier.HOT) < need) {
            return false;
        }
        while (pool.hotFree() < need) {
            Block victim = pool.lruHead(Tier.HOT);
            if (victim == null) {
                return false;
            }
            pool.evict(victim);
        }
        return true;
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
        } finally {
            lock.unlock();
        }
        if (problems.isEmpty()) {
            return new KvCheck(true, List.of(), false);
        }
        drop("a consistency check failed: " + problems.get(0));
        return new KvCheck(false, problems, true);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        drop("the cache was closed");
        closed = true;
        onClose.run();
    }

    boolean closed() {
        return closed;
    }

    /** Applies a new hot capacity now, evicting cached blocks down to it (used blocks stay). */
    void setCapacityBytes(long capacity) {
        lock.lock();
        try {
            pool.hotCapacity = capacity;
            Block victim;
            while (pool.hotFree() < 0 && (victim = pool.lruHead(Tier.HOT)) != null) {
                pool.evict(victim);
            }
        } finally {
            lock.unlock();
        }
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

    /** Test hook: the pool, to break invariants the way a bug would. */
    BlockPool poolForTest() {
        return pool;
    }

    @Override
    public String toString() {
        return "KvCache " + spec.name() + " (" + spec.modelVersion() + ")";
    }
}
