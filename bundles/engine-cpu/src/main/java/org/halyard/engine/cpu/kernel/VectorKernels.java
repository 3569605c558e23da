package org.halyard.engine.cpu.kernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API bodies of the {@link Kernels}: each is a vector loop over whole vectors followed by
 * a scalar tail. Loaded only when {@link Kernels#VECTOR_BITS} is positive, so the scalar path
 * works on a JVM without the incubator module.
 */
final class VectorKernels {

    private static final VectorSpecies<Float> F = species();
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** int8 lanes loaded to fill one float vector (quantised kernels; used when L >= 8). */
    private static final VectorSpecies<Byte> B_FULL = ByteVector.SPECIES_256; // a Q8_0 block's 32 values
    private static final VectorSpecies<Byte> B_HALF = ByteVector.SPECIES_128; // a Q4_0 block's 16 bytes
    private static final VectorSpecies<Short> S = L >= 8
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : ShortVector.SPECIES_64;

    private VectorKernels() {
    }

    static int preferredBits() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }

    private static VectorSpecies<Float> species() {
        int bits = Kernels.VECTOR_BITS > 0 ? Kernels.VECTOR_BITS : preferredBits();
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += L) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(va, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    static float dotF32(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += L) {
            FloatVector wv = FloatVector.fromByteBuffer(F, w, w0 + 4 * i, LE);
            acc = wv.fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += w.getFloat(w0 + 4 * i) * x[xOff + i];
        }
        return s;
    }

    static float dotBF16(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += L) {
            // bfloat16 is the upper half of a float: widen to int and shift left by 16
            ShortVector sv = ShortVector.fromByteBuffer(S, w, w0 + 2 * i, LE);
            FloatVector wv = sv.convertShape(VectorOperators.S2I, VectorSpecies.of(int.class, F.vectorShape()), 0)
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            acc = wv.fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += Float16.bf16ToFloat(w.getShort(w0 + 2 * i)) * x[xOff + i];
        }
        return s;
    }

    static float dotQ8_0(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int parts = 32 / L;
        for (int b = 0; b < n / 32; b++) {
            int blk = w0 + b * 34;
            FloatVector d = FloatVector.broadcast(F, Float16.toFloat(w.getShort(blk)));
            ByteVector q = ByteVector.fromByteBuffer(B_FULL, w, blk + 2, LE);
            int xb = xOff + b * 32;
            FloatVector bs = FloatVector.zero(F);
            for (int p = 0; p < parts; p++) {
                FloatVector qf = (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
                bs = qf.fma(FloatVector.fromArray(F, x, xb + p * L), bs);
            }
            acc = bs.fma(d, acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static float dotQ4_0(ByteBuffer w, int w0, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int parts = 16 / L;
        for (int b = 0; b < n / 32; b++) {
            int blk = w0 + b * 18;
            FloatVector d = FloatVector.broadcast(F, Float16.toFloat(w.getShort(blk)));
            ByteVector qs = ByteVector.fromByteBuffer(B_HALF, w, blk + 2, LE);
            ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = qs.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            int xb = xOff + b * 32;
            FloatVector bs = FloatVector.zero(F);
            for (int p = 0; p < parts; p++) {
                FloatVector lf = (FloatVector) lo.convertShape(VectorOperators.B2F, F, p);
                FloatVector hf = (FloatVector) hi.convertShape(VectorOperators.B2F, F, p);
                bs = lf.fma(FloatVector.fromArray(F, x, xb + p * L), bs);
                bs = hf.fma(FloatVector.fromArray(F, x, xb + 16 + p * L), bs);
            }
            acc = bs.fma(d, acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
