package org.halyard.engine.cpu;

import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.halyard.kvcache.api.KvSequenceOptions;

/**
 * A test fixture: one sequence's keys and values in two contiguous float arrays, with the
 * {@link KvSequence} contract (writes only to uncommitted slots, reads through keyDots/valueSum).
 *
 * <pre>
 *   keys[((layer * capacity + slot) * kvHeads + head) * headDim + i]
 * </pre>
 */
public final class TestKv implements KvSequence {

    private final String id;
    private final KvLayout layout;
    private final float[] keys;
    private final float[] values;
    private final int capacity;
    private int length;
    private boolean valid = true;

    public TestKv(String id, KvLayout layout, int capacity) {
        this.id = id;
        this.layout = layout;
        this.capacity = capacity;
        this.keys = new float[layout.layers() * capacity * layout.kvDim()];
        this.values = new float[keys.length];
    }

    public void invalidate() {
        valid = false;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public KvSequenceOptions options() {
        return KvSequenceOptions.of(KvDType.F32);
    }

    @Override
    public int length() {
        check();
        return length;
    }

    @Override
    public int capacity() {
        check();
        return capacity;
    }

    @Override
    public int cachedPrefixLength() {
        return 0;
    }

    @Override
    public boolean valid() {
        return valid;
    }

    private void check() {
        if (!valid) {
            throw new KvSequenceInvalidException(id + " was dropped");
        }
    }

    private int base(int layer, int slot, int head) {
        return ((layer * capacity + slot) * layout.kvHeads() + head) * layout.headDim();
    }

    @Override
    public void write(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
        check();
        if (slot < length || slot >= capacity) {
            throw new IndexOutOfBoundsException("slot " + slot + " not in [" + length + ", " + capacity + ")");
        }
        System.arraycopy(k, kOff, keys, base(layer, slot, 0), layout.kvDim());
        System.arraycopy(v, vOff, values, base(layer, slot, 0), layout.kvDim());
    }

    @Override
    public void keyDots(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff) {
        check();
        int d = layout.headDim();
        for (int t = from; t < to; t++) {
            int b = base(layer, t, kvHead);
            float s = 0;
            for (int i = 0; i < d; i++) {
                s += q[qOff + i] * keys[b + i];
            }
            out[outOff + t - from] = s;
        }
    }

    @Override
    public void valueSum(int layer, int kvHead, float[] w, int wOff, int from, int to, float[] out, int outOff) {
        check();
        int d = layout.headDim();
        for (int t = from; t < to; t++) {
            int b = base(layer, t, kvHead);
            float wt = w[wOff + t - from];
            for (int i = 0; i < d; i++) {
                out[outOff + i] += wt * values[b + i];
            }
        }
    }

    @Override
    public void commit(int[] tokens, int off, int count) {
        check();
        if (length + count > capacity) {
            throw new IndexOutOfBoundsException("commit past capacity");
        }
        length += count;
    }
}
