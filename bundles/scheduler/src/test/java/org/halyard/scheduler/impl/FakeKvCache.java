package org.halyard.scheduler.impl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvCheck;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.api.KvUsage;

/**
 * A block pool that counts blocks and stores, per slot, the token whose "keys and values" the
 * fake model wrote there, so that a scheduler that feeds the wrong slots produces wrong text.
 * No prefix sharing.
 */
final class FakeKvCache implements KvCache {

    final int blockSize;
    final int blocks;
    int free;
    final KvCacheSpec spec;
    final List<Seq> open = Collections.synchronizedList(new ArrayList<>());
    /** Every sequence ever opened, in order. */
    final List<Seq> opened = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger allocFailures = new AtomicInteger();
    volatile boolean closed;

    FakeKvCache(KvCacheSpec spec, int blockSize, int blocks) {
        this.spec = spec;
        this.blockSize = blockSize;
        this.blocks = blocks;
        this.free = blocks;
    }

    final class Seq implements KvSequence {
        final String id;
        final KvSequenceOptions options;
        int[] slots = new int[0];
        int length;
        int capacity;
        /** The most slots it ever held (a sliding window must stay within its size). */
        int maxLength;
        int discarded;
        volatile boolean valid = true;
        boolean released;

        Seq(String id, KvSequenceOptions options) {
            this.id = id;
            this.options = options;
        }

        @Override public String id() { return id; }
        @Override public KvSequenceOptions options() { return options; }
        @Override public int length() { check(); return length; }
        @Override public int capacity() { check(); return capacity; }
        @Override public int cachedPrefixLength() { return 0; }
        @Override public boolean valid() { return valid; }

        private void check() {
            if (!valid) {
                throw new KvSequenceInvalidException("dropped: " + id);
            }
        }

        /** The fake model's write: slot t holds token. */
        void put(int slot, int token) {
            check();
            if (slot < length || slot >= capacity) {
                throw new IndexOutOfBoundsException("slot " + slot + " not in [" + length + ", " + capacity + ")");
            }
            slots[slot] = token;
        }

        int get(int slot) {
            check();
            return slots[slot];
        }

        @Override
        public void write(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void keyDots(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void valueSum(int layer, int kvHead, float[] w, int wOff, int from, int to, float[] out, int outOff) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void commit(int[] tokens, int off, int count) {
            check();
            if (length + count > capacity) {
                throw new IllegalStateException("commit past capacity");
            }
            for (int i = 0; i < count; i++) {
                if (slots[length + i] != tokens[off + i]) {
                    throw new IllegalStateException("slot " + (length + i) + " holds " + slots[length + i]
                            + " but commit says " + tokens[off + i]);
                }
            }
            length += count;
            maxLength = Math.max(maxLength, length);
        }
    }

    @Override
    public synchronized void discard(KvSequence sequence, int from, int to) {
        Seq s = (Seq) sequence;
        s.check();
        if (from < 0 || from >= to || from % blockSize != 0 || to % blockSize != 0 || to > s.length / blockSize * blockSize) {
            throw new IllegalArgumentException("[" + from + ", " + to + ") of " + s.length);
        }
        int d = to - from;
        System.arraycopy(s.slots, to, s.slots, from, s.capacity - to);
        s.length -= d;
        s.capacity -= d;
        s.slots = java.util.Arrays.copyOf(s.slots, s.capacity);
        s.discarded += d;
        free += d / blockSize;
    }

    @Override public KvCacheSpec spec() { return spec; }
    @Override public int blockSizeTokens() { return blockSize; }

    @Override
    public synchronized KvSequence open(String sequenceId, int[] promptTokens, KvSequenceOptions options) {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        Seq s = new Seq(sequenceId, options);
        open.add(s);
        opened.add(s);
        return s;
    }

    @Override
    public synchronized boolean allocate(KvSequence sequence, int newTokens) {
        Seq s = (Seq) sequence;
        s.check();
        int have = s.capacity / blockSize;
        int want = (s.capacity + newTokens + blockSize - 1) / blockSize;
        if (want - have > free) {
            allocFailures.incrementAndGet();
            return false;
        }
        free -= want - have;
        s.capacity = want * blockSize;
        s.slots = java.util.Arrays.copyOf(s.slots, s.capacity);
        return true;
    }

    @Override
    public synchronized void release(KvSequence sequence) {
        Seq s = (Seq) sequence;
        if (s.released) {
            return;
        }
        s.released = true;
        open.remove(s);
        if (s.valid) {
            free += s.capacity / blockSize;
        }
    }

    synchronized int usedBlocks() {
        return blocks - free;
    }

    @Override
    public synchronized KvUsage usage() {
        long bb = 1000;
        return new KvUsage(blockSize, blocks * bb, (blocks - free) * bb, 0, free * bb, 0, 0, 0, blocks - free, 0,
                open.size(), 0, 0, 0, 0);
    }

    @Override
    public synchronized void drop() {
        for (Seq s : open) {
            s.valid = false;
        }
        free = blocks;
    }

    @Override
    public KvCheck check() {
        return new KvCheck(true, List.of(), false);
    }

    @Override
    public synchronized void close() {
        drop();
        closed = true;
    }

    /** A manager handing out fake caches of a fixed size. */
    static final class Manager implements KvCacheManager {
        final int blockSize;
        final int blocks;
        final List<FakeKvCache> created = new java.util.concurrent.CopyOnWriteArrayList<>();

        Manager(int blockSize, int blocks) {
            this.blockSize = blockSize;
            this.blocks = blocks;
        }

        @Override
        public KvCache create(KvCacheSpec spec) {
            FakeKvCache c = new FakeKvCache(spec, blockSize, blocks);
            created.add(c);
            return c;
        }

        @Override
        public List<KvCache> caches() {
            return List.copyOf(created);
        }

        FakeKvCache last() {
            return created.get(created.size() - 1);
        }
    }
}
