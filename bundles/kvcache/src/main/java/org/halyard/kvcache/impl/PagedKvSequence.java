package org.halyard.kvcache.impl;

import org.halyard.kvcache.api.KeyRewriter;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.halyard.kvcache.api.KvSequenceOptions;

/**
 * One sequence's block table, seen as slots. Slot {@code s} is row {@code s % B} of block
 * {@code table[s / B]}:
 *
 * <pre>
 *   slots:  0 ........ B-1 | B ....... 2B-1 | 2B ..... length ... capacity
 *   table:  [ block 7      | block 2        | block 9 (open)           ]
 *            sealed, maybe shared            written by the engine, then committed
 * </pre>
 *
 * <p>Reads ({@link #keyDots}, {@link #valueSum}) take no lock: they copy the volatile table, and
 * each block's volatile data, once. The table array is replaced, never changed in place, when
 * blocks are added. Changes of the table and of the commit state happen under the cache's lock
 * ({@link PagedKvCache}); the commit state belongs to the one thread that commits.
 */
final class PagedKvSequence implements KvSequence {

    private static final Block[] NONE = new Block[0];

    final PagedKvCache cache;
    private final String id;
    private final KvSequenceOptions options;
    /** Where this sequence's hash chain starts (model version, dtype, salt). */
    final BlockHash root;
    private final int blockSize;
    private final int cachedPrefixLength;

    volatile Block[] table;
    private volatile int length;
    private volatile int capacity;
    private volatile String invalidReason;

    /** Whether {@link PagedKvCache#release} ran (guarded by the cache's lock). */
    boolean released;
    /** The hash of the last sealed block (the next block's parent); the root before any. */
    BlockHash lastHash;
    /**
     * Whether sealed blocks are published to the prefix cache: with {@code usePrefixCache}, until
     * slots are discarded (committing thread, and the cache's lock).
     */
    boolean publishes;
    /** Tokens committed into the block being filled, hashed when it is full (committing thread only). */
    final int[] pending;
    int pendingCount;

    PagedKvSequence(PagedKvCache cache, String id, KvSequenceOptions options, BlockHash root, Block[] table,
            int length, int capacity, BlockHash lastHash) {
        this.cache = cache;
        this.id = id;
        this.options = options;
        this.root = root;
        this.blockSize = cache.blockSizeTokens();
        this.table = table;
        this.length = length;
        this.capacity = capacity;
        this.cachedPrefixLength = length;
        this.lastHash = lastHash;
        this.pending = new int[blockSize];
        this.publishes = options.usePrefixCache();
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public KvSequenceOptions options() {
        return options;
    }

    @Override
    public int length() {
        checkValid();
        return length;
    }

    @Override
    public int capacity() {
        checkValid();
        return capacity;
    }

    @Override
    public int cachedPrefixLength() {
        checkValid();
        return cachedPrefixLength;
    }

    @Override
    public boolean valid() {
        return invalidReason == null;
    }

    @Override
    public void write(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
        // capacity before table: allocate publishes the table first, so a table read after a
        // capacity always covers it
        int len = length;
        int cap = capacity;
        Block[] t = table;
        checkValid();
        if (slot < len || slot >= cap) {
            throw new IndexOutOfBoundsException("slot " + slot + " is not writable: sequence " + id
                    + " has committed " + len + " and allocated " + cap);
        }
        checkLayer(layer);
        t[slot / blockSize].data.write(layer, slot % blockSize, k, kOff, v, vOff);
    }

    @Override
    public void keyDots(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff) {
        int cap = capacity; // before table, as in write
        Block[] t = table;
        checkValid();
        checkRead(layer, kvHead, from, to, cap);
        int b = blockSize;
        for (int s = from; s < to;) {
            int bi = s / b;
            int end = Math.min(to, (bi + 1) * b);
            t[bi].data.keyDots(layer, kvHead, q, qOff, s - bi * b, end - bi * b, out, outOff + s - from);
            s = end;
        }
    }

    @Override
    public void valueSum(int layer, int kvHead, float[] w, int wOff, int from, int to, float[] out, int outOff) {
        int cap = capacity; // before table, as in write
        Block[] t = table;
        checkValid();
        checkRead(layer, kvHead, from, to, cap);
        int b = blockSize;
        for (int s = from; s < to;) {
            int bi = s / b;
            int end = Math.min(to, (bi + 1) * b);
            t[bi].data.valueSum(layer, kvHead, w, wOff + s - from, s - bi * b, end - bi * b, out, outOff);
            s = end;
        }
    }

    @Override
    public void commit(int[] tokens, int off, int count) {
        cache.commit(this, tokens, off, count);
    }

    @Override
    public void rewriteKeys(int from, int to, KeyRewriter rewriter) {
        cache.rewriteKeys(this, from, to, rewriter);
    }

    // ---- for the cache ----

    int lengthUnchecked() {
        return length;
    }

    int capacityUnchecked() {
        return capacity;
    }

    void setLength(int length) {
        this.length = length;
    }

    void setCapacity(int capacity) {
        this.capacity = capacity;
    }

    /** Makes the sequence invalid: every later call but id, options and valid throws. */
    void invalidate(String reason) {
        invalidReason = reason;
        table = NONE;
    }

    /** The ids of the blocks in the table, in slot order (for tests and diagnostics). */
    int[] blockIds() {
        Block[] t = table;
        int[] ids = new int[t.length];
        for (int i = 0; i < t.length; i++) {
            ids[i] = t[i].id;
        }
        return ids;
    }

    void checkValid() {
        String reason = invalidReason;
        if (reason != null) {
            throw new KvSequenceInvalidException("KV sequence " + id + " of cache " + cache.spec().name()
                    + " is invalid (" + reason + "): release it and rebuild it by re-prefill");
        }
    }

    private void checkLayer(int layer) {
        if (layer < 0 || layer >= cache.shape().layers()) {
            throw new IndexOutOfBoundsException("layer " + layer + " of " + cache.shape().layers());
        }
    }

    private void checkRead(int layer, int kvHead, int from, int to, int cap) {
        checkLayer(layer);
        if (kvHead < 0 || kvHead >= cache.shape().kvHeads()) {
            throw new IndexOutOfBoundsException("kv head " + kvHead + " of " + cache.shape().kvHeads());
        }
        if (from < 0 || to > cap || from > to) {
            throw new IndexOutOfBoundsException("slots [" + from + ", " + to + ") are not in sequence " + id
                    + " with " + cap + " slots allocated");
        }
    }

    @Override
    public String toString() {
        return "KvSequence " + id + " (" + options.dtype() + ", length " + length + ", capacity " + capacity
                + (valid() ? "" : ", invalid") + ")";
    }
}
