package org.halyard.kvcache.impl.kernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API bodies of {@link ScalarKernels}' kernels: vector body over whole vectors, scalar
 * tail for the rest. Only {@link Kernels} calls these, and only when {@link Vectors#ENABLED}, so
 * this class (the only one touching {@code jdk.incubator.vector}) is never loaded without the
 * module.
 *
 * <p>Lanes: {@code F} floats per vector; F16 loads {@code F.length()} shorts and widens them to
 * ints of {@code F}'s shape; INT8 loads at least 8 bytes ({@code B}, the smallest byte species)
 * and converts them to {@code B.length() / F.length()} float vectors.
 */
final class VectorKernels {

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(Vectors.BITS));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.length() * 8)));
    /** Float vectors per byte vector. */
    static final int PARTS = B.length() / F.length();

    private VectorKernels() {
    }

    // ---- F32 ----

    static float dotF32(float[] q, int qOff, float[] k, int kOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            acc = FloatVector.fromArray(F, q, qOff + i).fma(FloatVector.fromArray(F, k, kOff + i), acc);
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            r += q[qOff + i] * k[kOff + i];
        }
        return r;
    }

    static float dotF32(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            acc = FloatVector.fromArray(F, q, qOff + i)
                    .fma(FloatVector.fromByteBuffer(F, k, kByteOff + 4 * i, LE), acc);
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            r += q[qOff + i] * k.getFloat(kByteOff + 4 * i);
        }
        return r;
    }

    static void axpyF32(float w, float[] v, int vOff, float[] out, int outOff, int n) {
        FloatVector vw = FloatVector.broadcast(F, w);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector.fromArray(F, v, vOff + i).fma(vw, FloatVector.fromArray(F, out, outOff + i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] += w * v[vOff + i];
        }
    }

    static void axpyF32(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        FloatVector vw = FloatVector.broadcast(F, w);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector.fromByteBuffer(F, v, vByteOff + 4 * i, LE).fma(vw, FloatVector.fromArray(F, out, outOff + i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] += w * v.getFloat(vByteOff + 4 * i);
        }
    }

    // ---- F16 ----

    /**
     * Widened half bits (one per int lane) to floats, as {@link Half#toFloat}: shift exponent and
     * mantissa into float position, scale by 2^112 (which also renormalises subnormals), patch
     * infinities and NaNs, put the sign back.
     */
    private static FloatVector halfToFloat(IntVector h) {
        IntVector em = h.and(0x7fff);
        IntVector shifted = em.lanewise(VectorOperators.LSHL, 13);
        IntVector bits = shifted.reinterpretAsFloats().mul(Half.REBIAS).reinterpretAsInts();
        VectorMask<Integer> special = em.compare(VectorOperators.GE, 0x7c00);
        bits = bits.blend(shifted.or(0x7f800000), special);
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    private static FloatVector halves(short[] a, int off) {
        return halfToFloat((IntVector) ShortVector.fromArray(H, a, off).convertShape(VectorOperators.S2I, I, 0));
    }

    private static FloatVector halves(ByteBuffer b, int byteOff) {
        return halfToFloat((IntVector) ShortVector.fromByteBuffer(H, b, byteOff, LE)
                .convertShape(VectorOperators.S2I, I, 0));
    }

    static float dotF16(float[] q, int qOff, short[] k, int kOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            acc = FloatVector.fromArray(F, q, qOff + i).fma(halves(k, kOff + i), acc);
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            r += q[qOff + i] * Half.toFloat(k[kOff + i]);
        }
        return r;
    }

    static float dotF16(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            acc = FloatVector.fromArray(F, q, qOff + i).fma(halves(k, kByteOff + 2 * i), acc);
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            r += q[qOff + i] * Half.toFloat(k.getShort(kByteOff + 2 * i));
        }
        return r;
    }

    static void axpyF16(float w, short[] v, int vOff, float[] out, int outOff, int n) {
        FloatVector vw = FloatVector.broadcast(F, w);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            halves(v, vOff + i).fma(vw, FloatVector.fromArray(F, out, outOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] += w * Half.toFloat(v[vOff + i]);
        }
    }

    static void axpyF16(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        FloatVector vw = FloatVector.broadcast(F, w);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            halves(v, vByteOff + 2 * i).fma(vw, FloatVector.fromArray(F, out, outOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] += w * Half.toFloat(v.getShort(vByteOff + 2 * i));
        }
    }

    // ---- INT8 (raw integers; the caller scales) ----

    static float dotI8(float[] q, int qOff, byte[] k, int kOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = B.loopBound(n); i < bound; i += B.length()) {
            ByteVector bytes = ByteVector.fromArray(B, k, kOff + i);
            for (int p = 0; p < PARTS; p++) {
                FloatVector x = (FloatVector) bytes.convertShape(VectorOperators.B2F, F, p);
                acc = FloatVector.fromArray(F, q, qOff + i + p * F.length()).fma(x, acc);
            }
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            r += q[qOff + i] * k[kOff + i];
        }
        return r;
    }

    static float dotI8(float[] q, int qOff, ByteBuffer k, int kByteOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = B.loopBound(n); i < bound; i += B.length()) {
            ByteVector bytes = ByteVector.fromByteBuffer(B, k, kByteOff + i, LE);
            for (int p = 0; p < PARTS; p++) {
                FloatVector x = (FloatVector) bytes.convertShape(VectorOperators.B2F, F, p);
                acc = FloatVector.fromArray(F, q, qOff + i + p * F.length()).fma(x, acc);
            }
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            r += q[qOff + i] * k.get(kByteOff + i);
        }
        return r;
    }

    static void axpyI8(float w, byte[] v, int vOff, float[] out, int outOff, int n) {
        FloatVector vw = FloatVector.broadcast(F, w);
        int i = 0;
        for (int bound = B.loopBound(n); i < bound; i += B.length()) {
            ByteVector bytes = ByteVector.fromArray(B, v, vOff + i);
            for (int p = 0; p < PARTS; p++) {
                int o = outOff + i + p * F.length();
                ((FloatVector) bytes.convertShape(VectorOperators.B2F, F, p)).fma(vw, FloatVector.fromArray(F, out, o))
                        .intoArray(out, o);
            }
        }
        for (; i < n; i++) {
            out[outOff + i] += w * v[vOff + i];
        }
    }

    static void axpyI8(float w, ByteBuffer v, int vByteOff, float[] out, int outOff, int n) {
        FloatVector vw = FloatVector.broadcast(F, w);
        int i = 0;
        for (int bound = B.loopBound(n); i < bound; i += B.length()) {
            ByteVector bytes = ByteVector.fromByteBuffer(B, v, vByteOff + i, LE);
            for (int p = 0; p < PARTS; p++) {
                int o = outOff + i + p * F.length();
                ((FloatVector) bytes.convertShape(VectorOperators.B2F, F, p)).fma(vw, FloatVector.fromArray(F, out, o))
                        .intoArray(out, o);
            }
        }
        for (; i < n; i++) {
            out[outOff + i] += w * v.get(vByteOff + i);
        }
    }
}
