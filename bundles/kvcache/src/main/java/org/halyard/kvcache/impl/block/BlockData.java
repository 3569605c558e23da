package org.halyard.kvcache.impl.block;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.halyard.kvcache.api.KvDType;

/**
 * The keys and values of one block in one representation: Java arrays in the hot tier, a
 * little-endian {@link ByteBuffer} (direct memory or a mapped file) in the cold tiers. One final
 * class per encoding and storage; {@link #open} and {@link #wrap} are the only switches over
 * types, and they fail loudly on anything unknown.
 *
 * <p>A block is <em>open</em> while its sequence writes it ({@link #write}), then <em>sealed</em>
 * when it is full and committed ({@link #seal}): sealed data never changes, so it can be shared,
 * hashed, offloaded and read from any thread without locks. INT8 blocks are written as F32 and
 * quantised when sealed, so each (layer, head) gets one scale from all its tokens.
 *
 * <p>Readers never lock: a block moving between tiers gets a new {@code BlockData}; a reader that
 * still holds the old one reads the old (identical) values, whose memory the garbage collector
 * frees once nobody holds it.
 */
public abstract class BlockData {

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    protected final BlockShape shape;

    protected BlockData(BlockShape shape) {
        this.shape = shape;
    }

    /** A new writable block on the heap, filled with zeros, that seals as {@code dtype}. */
    public static BlockData open(KvDType dtype, BlockShape shape) {
        return switch (dtype) {
            case F32 -> new F32HeapBlock(shape, false);
            case F16 -> new F16HeapBlock(shape, false);
            case INT8 -> new F32HeapBlock(shape, true);
        };
    }

    /** Sealed {@code dtype} data serialised in {@code buffer} (see {@link BlockShape}), read in place. */
    public static BlockData wrap(KvDType dtype, BlockShape shape, ByteBuffer buffer) {
        if (buffer.capacity() < shape.bytes(dtype)) {
            throw new IllegalArgumentException("buffer of " + buffer.capacity() + " bytes cannot hold a " + dtype
                    + " block of " + shape.bytes(dtype));
        }
        ByteBuffer b = buffer.duplicate().order(LE);
        return switch (dtype) {
            case F32 -> new F32BufferBlock(shape, b);
            case F16 -> new F16BufferBlock(shape, b);
            case INT8 -> new Int8BufferBlock(shape, b);
        };
    }

    public BlockShape shape() {
        return shape;
    }

    /** The type this block has once sealed. */
    public abstract KvDType dtype();

    /** Bytes this representation holds (an open INT8 block holds its F32 staging). */
    public abstract long bytes();

    /** Whether {@link #write} is allowed: the block is open. */
    public boolean writable() {
        return false;
    }

    /** Whether this data lives on the Java heap (the hot tier). */
    public abstract boolean onHeap();

    /**
     * Writes token {@code t}'s keys and values of one layer: {@code kvDim} values each.
     *
     * @throws IllegalStateException when the block is sealed
     */
    public void write(int layer, int t, float[] k, int kOff, float[] v, int vOff) {
        throw new IllegalStateException("block is sealed");
    }

    /**
     * Overwrites token {@code t}'s key row of one head ({@code headDim} values): how a key
     * rewrite ({@code KvSequence.rewriteKeys}) changes an open block, or the open copy of a
     * sealed one.
     *
     * @throws IllegalStateException when the block is sealed
     */
    public void writeKey(int layer, int head, int t, float[] k, int kOff) {
        throw new IllegalStateException("block is sealed");
    }

    /** {@code out[outOff + t - t0] = q · K[layer][head][t]} for tokens {@code [t0, t1)} of this block. */
    public abstract void keyDots(int layer, int head, float[] q, int qOff, int t0, int t1, float[] out, int outOff);

    /** {@code out[outOff..+headDim) += Σ w[wOff + t - t0] · V[layer][head][t]} for tokens {@code [t0, t1)}. */
    public abstract void valueSum(int layer, int head, float[] w, int wOff, int t0, int t1, float[] out, int outOff);

    /** Token {@code t}'s key ({@code value == false}) or value row of one head, as floats. */
    public abstract void readRow(boolean value, int layer, int head, int t, float[] dst, int dstOff);

    /** The sealed form of this data: itself made read-only, or (INT8) quantised. */
    public BlockData seal() {
        return this;
    }

    /** Writes the sealed serialised form (see {@link BlockShape}) into {@code dst} from index 0. */
    public abstract void copyTo(ByteBuffer dst);

    /** The same sealed data on the heap (itself when already there). */
    public abstract BlockData toHeap();

    /**
     * A private writable heap copy with the same values, that seals as {@code dtype} again: the
     * copy a sequence writes into instead of a block it shares (copy-on-write). INT8 copies are
     * dequantised into F32 staging.
     */
    public BlockData openCopy() {
        BlockData copy = open(dtype(), shape);
        int kvDim = shape.kvDim();
        float[] k = new float[kvDim];
        float[] v = new float[kvDim];
        for (int l = 0; l < shape.layers(); l++) {
            for (int t = 0; t < shape.tokens(); t++) {
                for (int h = 0; h < shape.kvHeads(); h++) {
                    readRow(false, l, h, t, k, h * shape.headDim());
                    readRow(true, l, h, t, v, h * shape.headDim());
                }
                copy.write(l, t, k, 0, v, 0);
            }
        }
        return copy;
    }

    void checkTokens(int t0, int t1) {
        if (t0 < 0 || t1 > shape.tokens() || t0 > t1) {
            throw new IndexOutOfBoundsException("tokens [" + t0 + ", " + t1 + ") of a block of " + shape.tokens());
        }
    }
}
