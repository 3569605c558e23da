package org.halyard.kvcache.impl.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.kernel.Half;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each encoding: write, seal, serialise, read in place, back to the heap, copy-on-write. */
class BlockDataTest {

    static final BlockShape SHAPE = new BlockShape(3, 2, 32, 8);

    /** Fills an open block with reproducible keys and values; returns them as [side][layer][t][kvDim]. */
    static float[][][][] fill(BlockData b, long seed) {
        Random r = new Random(seed);
        float[][][][] all = new float[2][SHAPE.layers()][SHAPE.tokens()][SHAPE.kvDim()];
        for (int l = 0; l < SHAPE.layers(); l++) {
            for (int t = 0; t < SHAPE.tokens(); t++) {
                for (int side = 0; side < 2; side++) {
                    for (int i = 0; i < SHAPE.kvDim(); i++) {
                        all[side][l][t][i] = (float) r.nextGaussian() * (1 + l);
                    }
                }
                b.write(l, t, all[0][l][t], 0, all[1][l][t], 0);
            }
        }
        return all;
    }

    static float tolerance(KvDType d, float magnitude) {
        return switch (d) {
            case F32 -> 1e-6f;
            case F16 -> magnitude * 1e-3f;
            // half a step of a scale of max/127 over a head's block; values are ~N(0, (1+l)^2)
            case INT8 -> 0.5f * 5f * 3f / 127f + 1e-6f;
        };
    }

    /** Every row of {@code b} read back equals what was written, within the type's rounding. */
    static void assertHolds(BlockData b, float[][][][] want, KvDType d) {
        float[] row = new float[SHAPE.headDim()];
        for (int side = 0; side < 2; side++) {
            for (int l = 0; l < SHAPE.layers(); l++) {
                for (int h = 0; h < SHAPE.kvHeads(); h++) {
                    for (int t = 0; t < SHAPE.tokens(); t++) {
                        b.readRow(side == 1, l, h, t, row, 0);
                        for (int i = 0; i < row.length; i++) {
                            float w = want[side][l][t][h * SHAPE.headDim() + i];
                            assertEquals(w, row[i], tolerance(d, Math.abs(w)), "side " + side + " l" + l + " h" + h + " t" + t);
                        }
                    }
                }
            }
        }
    }

    static ByteBuffer serialise(BlockData sealed) {
        ByteBuffer buf = ByteBuffer.allocateDirect((int) sealed.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        sealed.copyTo(buf);
        return buf;
    }

    @ParameterizedTest
    @EnumSource(KvDType.class)
    void sealedBlocksReadTheSameOnTheHeapInABufferAndBack(KvDType d) {
        BlockData open = BlockData.open(d, SHAPE);
        assertTrue(open.writable());
        float[][][][] want = fill(open, 1);
        BlockData sealed = open.seal();
        assertFalse(sealed.writable());
        assertEquals(d, sealed.dtype());
        assertEquals(SHAPE.bytes(d), sealed.bytes());
        assertThrows(IllegalStateException.class, () -> sealed.write(0, 0, new float[64], 0, new float[64], 0));
        assertHolds(sealed, want, d);

        BlockData inBuffer = BlockData.wrap(d, SHAPE, serialise(sealed));
        assertFalse(inBuffer.onHeap());
        assertEquals(sealed.bytes(), inBuffer.bytes());
        BlockData back = inBuffer.toHeap();
        assertTrue(back.onHeap());
        // the cold tiers and the round trip are exact: same bits as the sealed hot block
        float[] q = new float[SHAPE.headDim()];
        float[] w = new float[SHAPE.tokens()];
        Random r = new Random(3);
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = r.nextFloat();
        }
        for (int l = 0; l < SHAPE.layers(); l++) {
            for (int h = 0; h < SHAPE.kvHeads(); h++) {
                float[][] dots = new float[3][SHAPE.tokens()];
                float[][] sums = new float[3][SHAPE.headDim()];
                BlockData[] forms = {sealed, inBuffer, back};
                for (int f = 0; f < 3; f++) {
                    forms[f].keyDots(l, h, q, 0, 0, SHAPE.tokens(), dots[f], 0);
                    forms[f].valueSum(l, h, w, 0, 0, SHAPE.tokens(), sums[f], 0);
                }
                assertArrayEquals(dots[0], dots[1], 1e-5f);
                assertArrayEquals(dots[0], dots[2], 0f);
                assertArrayEquals(sums[0], sums[1], 1e-5f);
                assertArrayEquals(sums[0], sums[2], 0f);
            }
        }
        // serialising again from the buffer gives the same bytes
        assertEquals(serialise(sealed), serialise(inBuffer));
    }

    @ParameterizedTest
    @EnumSource(KvDType.class)
    void keyDotsAndValueSumOverPartOfABlockMatchReadRows(KvDType d) {
        BlockData b = BlockData.open(d, SHAPE);
        fill(b, 2);
        BlockData sealed = b.seal();
        float[] q = new float[SHAPE.headDim()];
        java.util.Arrays.fill(q, 0.5f);
        float[] w = {0.25f, -1f, 2f};
        float[] dots = new float[5];
        float[] sum = new float[SHAPE.headDim() + 2];
        sealed.keyDots(2, 1, q, 0, 3, 6, dots, 2);
        sealed.valueSum(2, 1, w, 0, 3, 6, sum, 1);
        float[] row = new float[SHAPE.headDim()];
        float[] expected = new float[SHAPE.headDim()];
        for (int t = 3; t < 6; t++) {
            sealed.readRow(false, 2, 1, t, row, 0);
            float dot = 0;
            for (float x : row) {
                dot += 0.5f * x;
            }
            assertEquals(dot, dots[2 + t - 3], 1e-4f);
            sealed.readRow(true, 2, 1, t, row, 0);
            for (int i = 0; i < row.length; i++) {
                expected[i] += w[t - 3] * row[i];
            }
        }
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(sum, 1, 1 + SHAPE.headDim()), 1e-4f);
        assertEquals(0f, dots[0]);
        assertThrows(IndexOutOfBoundsException.class, () -> sealed.keyDots(0, 0, q, 0, 5, 9, new float[4], 0));
    }

    @Test
    void int8BlocksAreStagedAsF32AndQuantisedWhenSealed() {
        BlockData open = BlockData.open(KvDType.INT8, SHAPE);
        assertEquals(KvDType.INT8, open.dtype());
        assertEquals(SHAPE.bytes(KvDType.F32), open.bytes());
        assertEquals(SHAPE.openBytes(KvDType.INT8), open.bytes());
        assertThrows(IllegalStateException.class, () -> open.copyTo(ByteBuffer.allocate(1 << 16)));
        fill(open, 4);
        BlockData sealed = open.seal();
        assertEquals(2L * SHAPE.sideValues() + 8L * SHAPE.heads(), sealed.bytes());
        // a quarter of F32, plus the scales
        assertTrue(sealed.bytes() < SHAPE.bytes(KvDType.F32) / 3.9);
    }

    @Test
    void int8ScalesComeFromEachHeadsLargestValue() {
        BlockShape s = new BlockShape(1, 2, 4, 2);
        BlockData open = BlockData.open(KvDType.INT8, s);
        open.write(0, 0, new float[] {1, -2, 0.5f, 0, 100, 50, -25, 0}, 0, new float[8], 0);
        open.write(0, 1, new float[] {0.25f, 0, 0, 0, 0, 0, 0, 1}, 0, new float[8], 0);
        BlockData sealed = open.seal();
        float[] row = new float[4];
        sealed.readRow(false, 0, 0, 0, row, 0);
        assertArrayEquals(new float[] {1, -2, 0.5f, 0}, row, 2f / 127 / 2 + 1e-6f);
        sealed.readRow(false, 0, 1, 0, row, 0);
        assertArrayEquals(new float[] {100, 50, -25, 0}, row, 100f / 127 / 2 + 1e-5f);
        assertEquals(-2f, row(sealed, 0, 0)[1], 1e-6f); // the largest value is exact
        sealed.readRow(true, 0, 0, 1, row, 0);
        assertArrayEquals(new float[4], row, 0f); // all-zero values: scale 0, no NaN
    }

    private static float[] row(BlockData b, int head, int t) {
        float[] r = new float[b.shape().headDim()];
        b.readRow(false, 0, head, t, r, 0);
        return r;
    }

    @ParameterizedTest
    @EnumSource(KvDType.class)
    void anOpenCopyHoldsTheSameValuesAndIsPrivate(KvDType d) {
        BlockData open = BlockData.open(d, SHAPE);
        float[][][][] want = fill(open, 5);
        BlockData sealed = open.seal();
        BlockData copy = BlockData.wrap(d, SHAPE, serialise(sealed)).openCopy();
        assertTrue(copy.writable());
        assertEquals(d, copy.dtype());
        assertHolds(copy, want, d);
        float[] zeros = new float[SHAPE.kvDim()];
        copy.write(0, 0, zeros, 0, zeros, 0);
        float[] row = new float[SHAPE.headDim()];
        sealed.readRow(false, 0, 0, 0, row, 0);
        assertEquals(want[0][0][0][0], row[0], tolerance(d, Math.abs(want[0][0][0][0])));
        BlockData resealed = copy.seal();
        assertEquals(d, resealed.dtype());
        resealed.readRow(false, 0, 0, 0, row, 0);
        assertArrayEquals(new float[SHAPE.headDim()], row, 0f);
    }

    @Test
    void f16BlocksStoreHalfBits() {
        BlockShape s = new BlockShape(1, 1, 2, 1);
        BlockData open = BlockData.open(KvDType.F16, s);
        open.write(0, 0, new float[] {1f, 65504f}, 0, new float[] {-0.5f, 1e-7f}, 0);
        ByteBuffer buf = serialise(open.seal());
        assertEquals(0x3c00, buf.getShort(0) & 0xffff);
        assertEquals(0x7bff, buf.getShort(2) & 0xffff);
        assertEquals(0xb800, buf.getShort(4) & 0xffff);
        assertEquals(Half.fromFloat(1e-7f), buf.getShort(6));
    }

    @Test
    void wrapRejectsAShortBuffer() {
        assertThrows(IllegalArgumentException.class, () -> BlockData.wrap(KvDType.F32, SHAPE, ByteBuffer.allocate(16)));
        BlockData sealed = BlockData.open(KvDType.F32, SHAPE).seal();
        assertSame(sealed, sealed.seal());
        assertSame(sealed, sealed.toHeap());
    }
}
