package org.halyard.engine.cpu.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API bodies of the {@link Kernels}: vector loops over whole vectors followed by scalar
 * tails. Loaded only when {@link Kernels#VECTOR_BITS} is positive, so the scalar path works on a
 * JVM without the incubator module.
 *
 * <p>Matrix products are tiled: a tile is a few weight rows times a few tokens whose dot products
 * are accumulated together, so each weight vector loaded (and, for F16/BF16/Q8_0/Q4_0, decoded)
 * serves every token of the tile and each activation vector every row:
 *
 * <pre>
 *               k (cols) ──────────────►
 *   row r    [ w w w w | w w w w | ... ]      acc[r][t] += w(r, k..k+L) * x(t, k..k+L)
 *   row r+1  [ w w w w | ...            ]     one accumulator vector per (row, token),
 *   token t  [ x x x x | x x x x | ... ]      reduced across lanes once at the end
 * </pre>
 *
 * Every accumulator sees the same operations in the same order whichever tile computes it, so
 * results do not depend on the tiling (the batch size). Species are static finals: C2 intrinsifies
 * only constant species.
 */
final class VectorKernels {

    /** Float species of the F32 and element-wise kernels (the configured width). */
    private static final VectorSpecies<Float> F = species();
    private static final int L = F.length();
    /** Decoding kernels (F16, BF16, Q8_0, Q4_0) turn 8 stored values into one 256-bit float vector. */
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;

    private VectorKernels() {
    }

    static int preferredBits() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }

    private static VectorSpecies<Float> species() {
        int bits = Kernels.VECTOR_BITS > 0 ? Kernels.VECTOR_BITS : preferredBits();
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    // ---- float[] ------------------------------------------------------------------------------

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

    static void add(float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += L) {
            FloatVector.fromArray(F, y, yOff + i).add(FloatVector.fromArray(F, x, xOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    // ---- element-wise -------------------------------------------------------------------------

    static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            acc = v.fma(v, acc);
        }
        float ss = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            ss += x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt((double) ss / n + eps));
        FloatVector vinv = FloatVector.broadcast(F, inv);
        for (i = 0; i < upper; i += L) {
            FloatVector.fromArray(F, x, xOff + i).mul(vinv).mul(FloatVector.fromArray(F, weight, i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = weight[i] * (x[xOff + i] * inv);
        }
    }

    static void softmax(float[] x, int off, int n, float scale) {
        int upper = F.loopBound(n);
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < upper; i += L) {
            vmax = vmax.max(FloatVector.fromArray(F, x, off + i));
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        FloatVector vm = FloatVector.broadcast(F, max);
        FloatVector vs = FloatVector.broadcast(F, scale);
        FloatVector vsum = FloatVector.zero(F);
        for (i = 0; i < upper; i += L) {
            FloatVector e = FloatVector.fromArray(F, x, off + i).sub(vm).mul(vs).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            vsum = vsum.add(e);
        }
        float sum = vsum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp((x[off + i] - max) * scale);
            x[off + i] = e;
            sum += e;
        }
        FloatVector vinv = FloatVector.broadcast(F, 1f / sum);
        for (i = 0; i < upper; i += L) {
            FloatVector.fromArray(F, x, off + i).mul(vinv).intoArray(x, off + i);
        }
        float inv = 1f / sum;
        for (; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    static void swiglu(float[] gate, int gOff, float[] up, int uOff, int n) {
        int upper = F.loopBound(n);
        FloatVector one = FloatVector.broadcast(F, 1f);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, gOff + i);
            FloatVector sig = one.add(g.neg().lanewise(VectorOperators.EXP));
            g.div(sig).mul(FloatVector.fromArray(F, up, uOff + i)).intoArray(gate, gOff + i);
        }
        for (; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
        }
    }

    static void rope(float[] v, int off, float[] cos, float[] sin, int c, int half, boolean adjacent) {
        if (adjacent) {
            // pairs are interleaved; a scalar loop over pairs is as fast as shuffling them apart
            Kernels.ropeScalar(v, off, cos, sin, c, half, true);
            return;
        }
        // rotate-half: a = v[0, half), b = v[half, 2 half)
        int upper = F.loopBound(half);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector a = FloatVector.fromArray(F, v, off + i);
            FloatVector b = FloatVector.fromArray(F, v, off + half + i);
            FloatVector vc = FloatVector.fromArray(F, cos, c + i);
            FloatVector vs = FloatVector.fromArray(F, sin, c + i);
            a.mul(vc).sub(b.mul(vs)).intoArray(v, off + i);
            a.mul(vs).add(b.mul(vc)).intoArray(v, off + half + i);
        }
        for (; i < half; i++) {
            float a = v[off + i];
            float b = v[off + half + i];
            v[off + i] = a * cos[c + i] - b * sin[c + i];
            v[off + half + i] = a * sin[c + i] + b * cos[c + i];
        }
    }

    // ---- F32 ----------------------------------------------------------------------------------

    static void matmulF32(float[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        int r = rowFrom;
        for (; r + 4 <= rowTo; r += 4) {
            int t = 0;
            for (; t + 2 <= tokens; t += 2) {
                f32Tile4x2(w, w0 + r * cols, cols, x, xOff + t * xStride, xStride, out, outOff + t * outStride + r,
                        outStride, accumulate);
            }
            for (; t < tokens; t++) {
                f32Tile4x1(w, w0 + r * cols, cols, x, xOff + t * xStride, out, outOff + t * outStride + r, accumulate);
            }
        }
        for (; r < rowTo; r++) {
            for (int t = 0; t < tokens; t++) {
                int row = w0 + r * cols;
                int xt = xOff + t * xStride;
                FloatVector acc = FloatVector.zero(F);
                int upper = F.loopBound(cols);
                int i = 0;
                for (; i < upper; i += L) {
                    acc = FloatVector.fromArray(F, w, row + i).fma(FloatVector.fromArray(F, x, xt + i), acc);
                }
                float s = acc.reduceLanes(VectorOperators.ADD);
                for (; i < cols; i++) {
                    s += w[row + i] * x[xt + i];
                }
                Kernels.store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    /** Rows {@code row0 .. row0+3} times one token. */
    private static void f32Tile4x1(float[] w, int row0, int cols, float[] x, int xt, float[] out, int o,
            boolean accumulate) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int upper = F.loopBound(cols);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xt + i);
            a0 = FloatVector.fromArray(F, w, row0 + i).fma(xv, a0);
            a1 = FloatVector.fromArray(F, w, row0 + cols + i).fma(xv, a1);
            a2 = FloatVector.fromArray(F, w, row0 + 2 * cols + i).fma(xv, a2);
            a3 = FloatVector.fromArray(F, w, row0 + 3 * cols + i).fma(xv, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s0 += w[row0 + i] * x[xt + i];
            s1 += w[row0 + cols + i] * x[xt + i];
            s2 += w[row0 + 2 * cols + i] * x[xt + i];
            s3 += w[row0 + 3 * cols + i] * x[xt + i];
        }
        Kernels.store(out, o, s0, accumulate);
        Kernels.store(out, o + 1, s1, accumulate);
        Kernels.store(out, o + 2, s2, accumulate);
        Kernels.store(out, o + 3, s3, accumulate);
    }

    /** Rows {@code row0 .. row0+3} times two tokens. */
    private static void f32Tile4x2(float[] w, int row0, int cols, float[] x, int xt, int xStride, float[] out, int o,
            int outStride, boolean accumulate) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        int xu = xt + xStride;
        int upper = F.loopBound(cols);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector w0 = FloatVector.fromArray(F, w, row0 + i);
            FloatVector w1 = FloatVector.fromArray(F, w, row0 + cols + i);
            FloatVector w2 = FloatVector.fromArray(F, w, row0 + 2 * cols + i);
            FloatVector w3 = FloatVector.fromArray(F, w, row0 + 3 * cols + i);
            FloatVector xv = FloatVector.fromArray(F, x, xt + i);
            FloatVector yv = FloatVector.fromArray(F, x, xu + i);
            a0 = w0.fma(xv, a0);
            a1 = w1.fma(xv, a1);
            a2 = w2.fma(xv, a2);
            a3 = w3.fma(xv, a3);
            b0 = w0.fma(yv, b0);
            b1 = w1.fma(yv, b1);
            b2 = w2.fma(yv, b2);
            b3 = w3.fma(yv, b3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        float t0 = b0.reduceLanes(VectorOperators.ADD);
        float t1 = b1.reduceLanes(VectorOperators.ADD);
        float t2 = b2.reduceLanes(VectorOperators.ADD);
        float t3 = b3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s0 += w[row0 + i] * x[xt + i];
            s1 += w[row0 + cols + i] * x[xt + i];
            s2 += w[row0 + 2 * cols + i] * x[xt + i];
            s3 += w[row0 + 3 * cols + i] * x[xt + i];
            t0 += w[row0 + i] * x[xu + i];
            t1 += w[row0 + cols + i] * x[xu + i];
            t2 += w[row0 + 2 * cols + i] * x[xu + i];
            t3 += w[row0 + 3 * cols + i] * x[xu + i];
        }
        Kernels.store(out, o, s0, accumulate);
        Kernels.store(out, o + 1, s1, accumulate);
        Kernels.store(out, o + 2, s2, accumulate);
        Kernels.store(out, o + 3, s3, accumulate);
        Kernels.store(out, o + outStride, t0, accumulate);
        Kernels.store(out, o + outStride + 1, t1, accumulate);
        Kernels.store(out, o + outStride + 2, t2, accumulate);
        Kernels.store(out, o + outStride + 3, t3, accumulate);
    }

    // ---- F16 and BF16 -------------------------------------------------------------------------

    /** 8 half floats from {@code w[i]} as floats: exact for every finite half (normal or not). */
    private static FloatVector f16(short[] w, int i) {
        return f16((IntVector) ShortVector.fromArray(S8, w, i).convertShape(VectorOperators.S2I, I8, 0));
    }

    /**
     * Half-float bits (sign-extended to ints) as floats: exact for every finite half.
     *
     * <pre>
     *   h &lt;&lt; 16:           s eeeee mmmmmmmmmm 0...0       (sign in bit 31)
     *   &gt;&gt; 3 (arithmetic):  s sss eeeee mmmmmmmmmm 0...    (exponent and mantissa at float position)
     *   &amp; 0x8FFFFFFF:       s 000 eeeee mmmmmmmmmm 0...    then * 2^112 rebiases the exponent
     * </pre>
     *
     * (the multiply also renormalises subnormal halves)
     */
    private static FloatVector f16(IntVector h) {
        return h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFFFFFF)
                .reinterpretAsFloats().mul(0x1p112f);
    }

    private static FloatVector half(short[] w, int i, boolean bf16) {
        return bf16 ? bf16(w, i) : f16(w, i);
    }

    /** 8 bfloat16s from {@code w[i]} as floats (the upper halves of floats). */
    private static FloatVector bf16(short[] w, int i) {
        IntVector h = (IntVector) ShortVector.fromArray(S8, w, i).convertShape(VectorOperators.S2I, I8, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static void matmulF16(short[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        half(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride, accumulate, false);
    }

    static void matmulBF16(short[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        half(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride, accumulate, true);
    }

    /** 16-bit weights: one row times up to four tokens per tile, decoded once per tile. */
    private static void half(short[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate, boolean bf16) {
        int upper = F8.loopBound(cols);
        for (int r = rowFrom; r < rowTo; r++) {
            int row = w0 + r * cols;
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                int x0 = xOff + t * xStride;
                int x1 = x0 + xStride;
                int x2 = x1 + xStride;
                int x3 = x2 + xStride;
                FloatVector a0 = FloatVector.zero(F8);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                int i = 0;
                for (; i < upper; i += 8) {
                    FloatVector wv = bf16 ? bf16(w, row + i) : f16(w, row + i);
                    a0 = wv.fma(FloatVector.fromArray(F8, x, x0 + i), a0);
                    a1 = wv.fma(FloatVector.fromArray(F8, x, x1 + i), a1);
                    a2 = wv.fma(FloatVector.fromArray(F8, x, x2 + i), a2);
                    a3 = wv.fma(FloatVector.fromArray(F8, x, x3 + i), a3);
                }
                int o = outOff + t * outStride + r;
                Kernels.store(out, o, a0.reduceLanes(VectorOperators.ADD) + halfTail(w, row, i, cols, x, x0, bf16),
                        accumulate);
                Kernels.store(out, o + outStride,
                        a1.reduceLanes(VectorOperators.ADD) + halfTail(w, row, i, cols, x, x1, bf16), accumulate);
                Kernels.store(out, o + 2 * outStride,
                        a2.reduceLanes(VectorOperators.ADD) + halfTail(w, row, i, cols, x, x2, bf16), accumulate);
                Kernels.store(out, o + 3 * outStride,
                        a3.reduceLanes(VectorOperators.ADD) + halfTail(w, row, i, cols, x, x3, bf16), accumulate);
            }
            for (; t < tokens; t++) {
                int x0 = xOff + t * xStride;
                FloatVector a0 = FloatVector.zero(F8);
                int i = 0;
                for (; i < upper; i += 8) {
                    FloatVector wv = bf16 ? bf16(w, row + i) : f16(w, row + i);
                    a0 = wv.fma(FloatVector.fromArray(F8, x, x0 + i), a0);
                }
                Kernels.store(out, outOff + t * outStride + r,
                        a0.reduceLanes(VectorOperators.ADD) + halfTail(w, row, i, cols, x, x0, bf16), accumulate);
            }
        }
    }

    private static float halfTail(short[] w, int row, int from, int cols, float[] x, int xt, boolean bf16) {
        float s = 0;
        for (int i = from; i < cols; i++) {
            float v = bf16 ? Float16.bf16ToFloat(w[row + i]) : Float16.toFloat(w[row + i]);
            s += v * x[xt + i];
        }
        return s;
    }

    // ---- Q8_0 ---------------------------------------------------------------------------------

    /** 8 int8 values from {@code w[i]} as floats. */
    private static FloatVector q8(byte[] w, int i) {
        return (FloatVector) ByteVector.fromArray(B8, w, i).convertShape(VectorOperators.B2F, F8, 0);
    }

    /**
     * Per (row, token) and block: {@code bs = Σ_p q_p · x_p} over the block's four 8-value parts,
     * then {@code acc = bs · d + acc}.
     */
    static void matmulQ8_0(byte[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        int blocks = cols / 32;
        int rowBytes = blocks * 34;
        for (int r = rowFrom; r < rowTo; r++) {
            int row = w0 + r * rowBytes;
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                int x0 = xOff + t * xStride;
                int x1 = x0 + xStride;
                int x2 = x1 + xStride;
                int x3 = x2 + xStride;
                FloatVector a0 = FloatVector.zero(F8);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int b = 0; b < blocks; b++) {
                    int blk = row + b * 34;
                    int k = b * 32;
                    FloatVector d = FloatVector.broadcast(F8, Float16.toFloat(Float16.shortAt(w, blk)));
                    FloatVector q = q8(w, blk + 2);
                    FloatVector s0 = q.mul(FloatVector.fromArray(F8, x, x0 + k));
                    FloatVector s1 = q.mul(FloatVector.fromArray(F8, x, x1 + k));
                    FloatVector s2 = q.mul(FloatVector.fromArray(F8, x, x2 + k));
                    FloatVector s3 = q.mul(FloatVector.fromArray(F8, x, x3 + k));
                    for (int p = 8; p < 32; p += 8) {
                        q = q8(w, blk + 2 + p);
                        s0 = q.fma(FloatVector.fromArray(F8, x, x0 + k + p), s0);
                        s1 = q.fma(FloatVector.fromArray(F8, x, x1 + k + p), s1);
                        s2 = q.fma(FloatVector.fromArray(F8, x, x2 + k + p), s2);
                        s3 = q.fma(FloatVector.fromArray(F8, x, x3 + k + p), s3);
                    }
                    a0 = s0.fma(d, a0);
                    a1 = s1.fma(d, a1);
                    a2 = s2.fma(d, a2);
                    a3 = s3.fma(d, a3);
                }
                int o = outOff + t * outStride + r;
                Kernels.store(out, o, a0.reduceLanes(VectorOperators.ADD), accumulate);
                Kernels.store(out, o + outStride, a1.reduceLanes(VectorOperators.ADD), accumulate);
                Kernels.store(out, o + 2 * outStride, a2.reduceLanes(VectorOperators.ADD), accumulate);
                Kernels.store(out, o + 3 * outStride, a3.reduceLanes(VectorOperators.ADD), accumulate);
            }
            for (; t < tokens; t++) {
                int x0 = xOff + t * xStride;
                FloatVector a0 = FloatVector.zero(F8);
                for (int b = 0; b < blocks; b++) {
                    int blk = row + b * 34;
                    int k = x0 + b * 32;
                    FloatVector s0 = q8(w, blk + 2).mul(FloatVector.fromArray(F8, x, k));
                    s0 = q8(w, blk + 10).fma(FloatVector.fromArray(F8, x, k + 8), s0);
                    s0 = q8(w, blk + 18).fma(FloatVector.fromArray(F8, x, k + 16), s0);
                    s0 = q8(w, blk + 26).fma(FloatVector.fromArray(F8, x, k + 24), s0);
                    a0 = s0.fma(FloatVector.broadcast(F8, Float16.toFloat(Float16.shortAt(w, blk))), a0);
                }
                Kernels.store(out, outOff + t * outStride + r, a0.reduceLanes(VectorOperators.ADD), accumulate);
            }
        }
    }

    // ---- Q4_0 ---------------------------------------------------------------------------------

    /**
     * The low nibbles of 8 bytes from {@code w[i]}, minus 8, as floats.
     *
     * <pre>
     *   bytes qs[i..i+8):  low nibbles are elements i..i+8, high nibbles elements i+16..i+24
     * </pre>
     */
    private static FloatVector q4lo(ByteVector qs) {
        return (FloatVector) qs.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F8, 0);
    }

    /** The high nibbles, minus 8: shifting 16-bit lanes by 4 and masking stays within each byte. */
    private static FloatVector q4hi(ByteVector qs) {
        ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
        return (FloatVector) hi.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F8, 0);
    }

    /**
     * As Q8_0; a block's parts come from two 8-byte loads: bytes 0-7 give elements 0-7 (low
     * nibbles) and 16-23 (high), bytes 8-15 give 8-15 and 24-31.
     */
    static void matmulQ4_0(byte[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        int blocks = cols / 32;
        int rowBytes = blocks * 18;
        for (int r = rowFrom; r < rowTo; r++) {
            int row = w0 + r * rowBytes;
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                int x0 = xOff + t * xStride;
                int x1 = x0 + xStride;
                int x2 = x1 + xStride;
                int x3 = x2 + xStride;
                FloatVector a0 = FloatVector.zero(F8);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int b = 0; b < blocks; b++) {
                    int blk = row + b * 18;
                    int k = b * 32;
                    FloatVector d = FloatVector.broadcast(F8, Float16.toFloat(Float16.shortAt(w, blk)));
                    ByteVector qa = ByteVector.fromArray(B8, w, blk + 2);
                    ByteVector qb = ByteVector.fromArray(B8, w, blk + 10);
                    FloatVector q = q4lo(qa);
                    FloatVector s0 = q.mul(FloatVector.fromArray(F8, x, x0 + k));
                    FloatVector s1 = q.mul(FloatVector.fromArray(F8, x, x1 + k));
                    FloatVector s2 = q.mul(FloatVector.fromArray(F8, x, x2 + k));
                    FloatVector s3 = q.mul(FloatVector.fromArray(F8, x, x3 + k));
                    q = q4lo(qb);
                    s0 = q.fma(FloatVector.fromArray(F8, x, x0 + k + 8), s0);
                    s1 = q.fma(FloatVector.fromArray(F8, x, x1 + k + 8), s1);
                    s2 = q.fma(FloatVector.fromArray(F8, x, x2 + k + 8), s2);
                    s3 = q.fma(FloatVector.fromArray(F8, x, x3 + k + 8), s3);
                    q = q4hi(qa);
                    s0 = q.fma(FloatVector.fromArray(F8, x, x0 + k + 16), s0);
                    s1 = q.fma(FloatVector.fromArray(F8, x, x1 + k + 16), s1);
                    s2 = q.fma(FloatVector.fromArray(F8, x, x2 + k + 16), s2);
                    s3 = q.fma(FloatVector.fromArray(F8, x, x3 + k + 16), s3);
                    q = q4hi(qb);
                    s0 = q.fma(FloatVector.fromArray(F8, x, x0 + k + 24), s0);
                    s1 = q.fma(FloatVector.fromArray(F8, x, x1 + k + 24), s1);
                    s2 = q.fma(FloatVector.fromArray(F8, x, x2 + k + 24), s2);
                    s3 = q.fma(FloatVector.fromArray(F8, x, x3 + k + 24), s3);
                    a0 = s0.fma(d, a0);
                    a1 = s1.fma(d, a1);
                    a2 = s2.fma(d, a2);
                    a3 = s3.fma(d, a3);
                }
                int o = outOff + t * outStride + r;
                Kernels.store(out, o, a0.reduceLanes(VectorOperators.ADD), accumulate);
                Kernels.store(out, o + outStride, a1.reduceLanes(VectorOperators.ADD), accumulate);
                Kernels.store(out, o + 2 * outStride, a2.reduceLanes(VectorOperators.ADD), accumulate);
                Kernels.store(out, o + 3 * outStride, a3.reduceLanes(VectorOperators.ADD), accumulate);
            }
            for (; t < tokens; t++) {
                int x0 = xOff + t * xStride;
                FloatVector a0 = FloatVector.zero(F8);
                for (int b = 0; b < blocks; b++) {
                    int blk = row + b * 18;
                    int k = x0 + b * 32;
                    ByteVector qa = ByteVector.fromArray(B8, w, blk + 2);
                    ByteVector qb = ByteVector.fromArray(B8, w, blk + 10);
                    FloatVector s0 = q4lo(qa).mul(FloatVector.fromArray(F8, x, k));
                    s0 = q4lo(qb).fma(FloatVector.fromArray(F8, x, k + 8), s0);
                    s0 = q4hi(qa).fma(FloatVector.fromArray(F8, x, k + 16), s0);
                    s0 = q4hi(qb).fma(FloatVector.fromArray(F8, x, k + 24), s0);
                    a0 = s0.fma(FloatVector.broadcast(F8, Float16.toFloat(Float16.shortAt(w, blk))), a0);
                }
                Kernels.store(out, outOff + t * outStride + r, a0.reduceLanes(VectorOperators.ADD), accumulate);
            }
        }
    }

    // ---- packed panels: outer products ---------------------------------------------------------
    //
    // A panel holds 16 rows column by column, so one column of a panel is two 8-float vectors
    // (rows 0-7 and 8-15). Each lane accumulates one row's dot product with one token:
    //
    //   for k:  acc[t][rows 0-7]  += w(rows 0-7, k)  * broadcast(x[t][k])
    //           acc[t][rows 8-15] += w(rows 8-15, k) * broadcast(x[t][k])
    //
    // Tiles: 16 rows x 4 tokens (8 accumulators), 32 rows x 1 token (two panels: four independent
    // accumulators for a lone token) and 16 rows x 1 token. Every lane sees the same sequence of
    // fused multiply-adds in each of them.

    private static final int KIND_F32 = 0;
    private static final int KIND_F16 = 1;
    private static final int KIND_BF16 = 2;
    private static final int KIND_Q8_0 = 3;
    private static final int KIND_Q4_0 = 4;

    /**
     * Walks the panels that rows {@code [rowStart + rowFrom, rowStart + rowTo)} cover and hands
     * each to the tile kernels of {@code kind} (weights in {@code wf}, {@code wh} or {@code wb}).
     * Rows of a panel that sticks out of the range (a view that does not start or end on a panel
     * boundary) go through the scalar reference.
     */
    private static void walk(int kind, float[] wf, short[] wh, byte[] wb, int cols, int rowStart, int rowFrom,
            int rowTo, float[] x, int xOff, int xStride, int tokens, float[] out, int outOff, int outStride,
            boolean acc) {
        int a = rowStart + rowFrom;
        int b = rowStart + rowTo;
        int pa = (a + PANEL - 1) / PANEL; // first whole panel
        int pb = b / PANEL;               // end of the whole panels
        if (pa >= pb) {
            scalar(kind, wf, wh, wb, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    acc);
            return;
        }
        if (a < pa * PANEL) {
            scalar(kind, wf, wh, wb, cols, rowStart, rowFrom, pa * PANEL - rowStart, x, xOff, xStride, tokens, out,
                    outOff, outStride, acc);
        }
        if (pb * PANEL < b) {
            scalar(kind, wf, wh, wb, cols, rowStart, pb * PANEL - rowStart, rowTo, x, xOff, xStride, tokens, out,
                    outOff, outStride, acc);
        }
        for (int p = pa; p < pb; ) {
            int o = outOff + p * PANEL - rowStart; // out index of the panel's row 0, token 0
            // two panels at once for lone tokens: four independent accumulator chains (not for F16,
            // whose bit-level decoding of four vectors per column makes the tile too large for C2)
            boolean pair = p + 1 < pb && kind != KIND_F16;
            // several tokens at once: 16 x 4 tiles, or 16 x 2 for the quantised kinds (their tiles
            // also hold a block sum per accumulator)
            int width = kind >= KIND_Q8_0 ? 2 : 4;
            int t = 0;
            for (; t + width <= tokens; t += width) {
                int xt = xOff + t * xStride;
                int ot = o + t * outStride;
                tile(kind, wf, wh, wb, cols, p, x, xt, xStride, out, ot, outStride, acc);
                if (pair) {
                    tile(kind, wf, wh, wb, cols, p + 1, x, xt, xStride, out, ot + PANEL, outStride, acc);
                }
            }
            for (; t < tokens; t++) {
                int xt = xOff + t * xStride;
                int ot = o + t * outStride;
                if (pair) {
                    switch (kind) {
                        case KIND_F32 -> f32x32x1(wf, cols, p, x, xt, out, ot, acc);
                        case KIND_F16 -> halfx32x1(wh, cols, false, p, x, xt, out, ot, acc);
                        case KIND_BF16 -> halfx32x1(wh, cols, true, p, x, xt, out, ot, acc);
                        case KIND_Q8_0 -> q8x32x1(wb, wf, cols, p, x, xt, out, ot, acc);
                        default -> q4x32x1(wb, wf, cols, p, x, xt, out, ot, acc);
                    }
                } else {
                    switch (kind) {
                        case KIND_F32 -> f32x16x1(wf, cols, p, x, xt, out, ot, acc);
                        case KIND_F16 -> halfx16x1(wh, cols, false, p, x, xt, out, ot, acc);
                        case KIND_BF16 -> halfx16x1(wh, cols, true, p, x, xt, out, ot, acc);
                        case KIND_Q8_0 -> q8x16x1(wb, wf, cols, p, x, xt, out, ot, acc);
                        default -> q4x16x1(wb, wf, cols, p, x, xt, out, ot, acc);
                    }
                }
            }
            p += pair ? 2 : 1;
        }
    }

    private static void scalar(int kind, float[] wf, short[] wh, byte[] wb, int cols, int rowStart, int rowFrom,
            int rowTo, float[] x, int xOff, int xStride, int tokens, float[] out, int outOff, int outStride,
            boolean acc) {
        switch (kind) {
            case KIND_F32 -> Kernels.matmulF32PackedScalar(wf, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens,
                    out, outOff, outStride, acc);
            case KIND_F16, KIND_BF16 -> Kernels.matmulHalfPackedScalar(wh, cols, rowStart, rowFrom, rowTo, x, xOff,
                    xStride, tokens, out, outOff, outStride, acc, kind == KIND_BF16);
            case KIND_Q8_0 -> Kernels.matmulQ8_0PackedScalar(wb, wf, cols, rowStart, rowFrom, rowTo, x, xOff, xStride,
                    tokens, out, outOff, outStride, acc);
            default -> Kernels.matmulQ4_0PackedScalar(wb, wf, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens,
                    out, outOff, outStride, acc);
        }
    }

    /** The several-token tile of {@code kind}. */
    private static void tile(int kind, float[] wf, short[] wh, byte[] wb, int cols, int p, float[] x, int x0,
            int xs, float[] out, int o, int os, boolean acc) {
        switch (kind) {
            case KIND_F32 -> f32x16x4(wf, cols, p, x, x0, xs, out, o, os, acc);
            case KIND_F16 -> halfx16x4(wh, cols, false, p, x, x0, xs, out, o, os, acc);
            case KIND_BF16 -> halfx16x4(wh, cols, true, p, x, x0, xs, out, o, os, acc);
            case KIND_Q8_0 -> q8x16x2(wb, wf, cols, p, x, x0, xs, out, o, os, acc);
            default -> q4x16x2(wb, wf, cols, p, x, x0, xs, out, o, os, acc);
        }
    }

    private static final int PANEL = Kernels.PANEL;

    // Results are stored inline in each tile (no helper taking vectors): a call C2 does not inline
    // (it inlines small methods only at hot call sites, and a tile's stores run once per tile)
    // would box the accumulators into objects inside the tile loop.

    // F32

    static void matmulF32Packed(float[] w, int cols, int rowStart, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        walk(KIND_F32, w, null, null, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                accumulate);
    }

    private static void f32x16x4(float[] w, int cols, int p, float[] x, int x0, int xs, float[] out,
            int o, int os, boolean acc) {
        int base = p * PANEL * cols;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        for (int k = 0; k < cols; k++) {
            int i = base + k * PANEL;
            FloatVector w0 = FloatVector.fromArray(F8, w, i);
            FloatVector w1 = FloatVector.fromArray(F8, w, i + 8);
            FloatVector v = FloatVector.broadcast(F8, x[x0 + k]);
            a0 = w0.fma(v, a0);
            b0 = w1.fma(v, b0);
            v = FloatVector.broadcast(F8, x[x1 + k]);
            a1 = w0.fma(v, a1);
            b1 = w1.fma(v, b1);
            v = FloatVector.broadcast(F8, x[x2 + k]);
            a2 = w0.fma(v, a2);
            b2 = w1.fma(v, b2);
            v = FloatVector.broadcast(F8, x[x3 + k]);
            a3 = w0.fma(v, a3);
            b3 = w1.fma(v, b3);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
            a1 = a1.add(FloatVector.fromArray(F8, out, o + os));
            b1 = b1.add(FloatVector.fromArray(F8, out, o + os + 8));
            a2 = a2.add(FloatVector.fromArray(F8, out, o + 2 * os));
            b2 = b2.add(FloatVector.fromArray(F8, out, o + 2 * os + 8));
            a3 = a3.add(FloatVector.fromArray(F8, out, o + 3 * os));
            b3 = b3.add(FloatVector.fromArray(F8, out, o + 3 * os + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
        a1.intoArray(out, o + os);
        b1.intoArray(out, o + os + 8);
        a2.intoArray(out, o + 2 * os);
        b2.intoArray(out, o + 2 * os + 8);
        a3.intoArray(out, o + 3 * os);
        b3.intoArray(out, o + 3 * os + 8);
    }

    private static void f32x16x1(float[] w, int cols, int p, float[] x, int x0, float[] out, int o,
            boolean acc) {
        int base = p * PANEL * cols;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        for (int k = 0; k < cols; k++) {
            int i = base + k * PANEL;
            FloatVector v = FloatVector.broadcast(F8, x[x0 + k]);
            a0 = FloatVector.fromArray(F8, w, i).fma(v, a0);
            b0 = FloatVector.fromArray(F8, w, i + 8).fma(v, b0);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
    }

    private static void f32x32x1(float[] w, int cols, int p, float[] x, int x0, float[] out, int o,
            boolean acc) {
        int base = p * PANEL * cols;
        int next = base + PANEL * cols;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        FloatVector c0 = a0;
        FloatVector d0 = a0;
        for (int k = 0; k < cols; k++) {
            int i = base + k * PANEL;
            int j = next + k * PANEL;
            FloatVector v = FloatVector.broadcast(F8, x[x0 + k]);
            a0 = FloatVector.fromArray(F8, w, i).fma(v, a0);
            b0 = FloatVector.fromArray(F8, w, i + 8).fma(v, b0);
            c0 = FloatVector.fromArray(F8, w, j).fma(v, c0);
            d0 = FloatVector.fromArray(F8, w, j + 8).fma(v, d0);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
            c0 = c0.add(FloatVector.fromArray(F8, out, o + PANEL));
            d0 = d0.add(FloatVector.fromArray(F8, out, o + PANEL + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
        c0.intoArray(out, o + PANEL);
        d0.intoArray(out, o + PANEL + 8);
    }

    // F16 and BF16

    static void matmulHalfPacked(short[] w, int cols, int rowStart, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate, boolean bf16) {
        walk(bf16 ? KIND_BF16 : KIND_F16, null, w, null, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens,
                out, outOff, outStride, accumulate);
    }

    private static void halfx16x4(short[] w, int cols, boolean bf16, int p, float[] x, int x0, int xs, float[] out,
            int o, int os, boolean acc) {
        int base = p * PANEL * cols;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        for (int k = 0; k < cols; k++) {
            int i = base + k * PANEL;
            FloatVector w0 = half(w, i, bf16);
            FloatVector w1 = half(w, i + 8, bf16);
            FloatVector v = FloatVector.broadcast(F8, x[x0 + k]);
            a0 = w0.fma(v, a0);
            b0 = w1.fma(v, b0);
            v = FloatVector.broadcast(F8, x[x1 + k]);
            a1 = w0.fma(v, a1);
            b1 = w1.fma(v, b1);
            v = FloatVector.broadcast(F8, x[x2 + k]);
            a2 = w0.fma(v, a2);
            b2 = w1.fma(v, b2);
            v = FloatVector.broadcast(F8, x[x3 + k]);
            a3 = w0.fma(v, a3);
            b3 = w1.fma(v, b3);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
            a1 = a1.add(FloatVector.fromArray(F8, out, o + os));
            b1 = b1.add(FloatVector.fromArray(F8, out, o + os + 8));
            a2 = a2.add(FloatVector.fromArray(F8, out, o + 2 * os));
            b2 = b2.add(FloatVector.fromArray(F8, out, o + 2 * os + 8));
            a3 = a3.add(FloatVector.fromArray(F8, out, o + 3 * os));
            b3 = b3.add(FloatVector.fromArray(F8, out, o + 3 * os + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
        a1.intoArray(out, o + os);
        b1.intoArray(out, o + os + 8);
        a2.intoArray(out, o + 2 * os);
        b2.intoArray(out, o + 2 * os + 8);
        a3.intoArray(out, o + 3 * os);
        b3.intoArray(out, o + 3 * os + 8);
    }

    private static void halfx16x1(short[] w, int cols, boolean bf16, int p, float[] x, int x0, float[] out, int o,
            boolean acc) {
        int base = p * PANEL * cols;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        for (int k = 0; k < cols; k++) {
            int i = base + k * PANEL;
            FloatVector v = FloatVector.broadcast(F8, x[x0 + k]);
            a0 = half(w, i, bf16).fma(v, a0);
            b0 = half(w, i + 8, bf16).fma(v, b0);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
    }

    private static void halfx32x1(short[] w, int cols, boolean bf16, int p, float[] x, int x0, float[] out, int o,
            boolean acc) {
        int base = p * PANEL * cols;
        int next = base + PANEL * cols;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        FloatVector c0 = a0;
        FloatVector d0 = a0;
        for (int k = 0; k < cols; k++) {
            int i = base + k * PANEL;
            int j = next + k * PANEL;
            FloatVector v = FloatVector.broadcast(F8, x[x0 + k]);
            a0 = half(w, i, bf16).fma(v, a0);
            b0 = half(w, i + 8, bf16).fma(v, b0);
            c0 = half(w, j, bf16).fma(v, c0);
            d0 = half(w, j + 8, bf16).fma(v, d0);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
            c0 = c0.add(FloatVector.fromArray(F8, out, o + PANEL));
            d0 = d0.add(FloatVector.fromArray(F8, out, o + PANEL + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
        c0.intoArray(out, o + PANEL);
        d0.intoArray(out, o + PANEL + 8);
    }

    // Quantised panels: per block, the integer values times the activations are summed first and
    // the block's scales applied once (acc += d * Σ q x), as GGML does; the sums need a second
    // register per accumulator, so the several-token tile is 16 x 2.

    static void matmulQ8_0Packed(byte[] w, float[] sc, int cols, int rowStart, int rowFrom, int rowTo, float[] x,
            int xOff, int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        walk(KIND_Q8_0, sc, null, w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                accumulate);
    }

    private static void q8x16x2(byte[] w, float[] sc, int cols, int p, float[] x, int x0, int xs, float[] out,
            int o, int os, boolean acc) {
        int blocks = cols / 32;
        int x1 = x0 + xs;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        FloatVector a1 = a0;
        FloatVector b1 = a0;
        for (int bl = 0; bl < blocks; bl++) {
            int blk = (p * blocks + bl) * PANEL * 32;
            int xk = bl * 32;
            FloatVector s0 = FloatVector.zero(F8);
            FloatVector t0 = s0;
            FloatVector s1 = s0;
            FloatVector t1 = s0;
            for (int k = 0; k < 32; k++) {
                int i = blk + k * PANEL;
                FloatVector w0 = q8(w, i);
                FloatVector w1 = q8(w, i + 8);
                FloatVector v = FloatVector.broadcast(F8, x[x0 + xk + k]);
                s0 = w0.fma(v, s0);
                t0 = w1.fma(v, t0);
                v = FloatVector.broadcast(F8, x[x1 + xk + k]);
                s1 = w0.fma(v, s1);
                t1 = w1.fma(v, t1);
            }
            int sb = (p * blocks + bl) * PANEL;
            FloatVector d0 = FloatVector.fromArray(F8, sc, sb);
            FloatVector d1 = FloatVector.fromArray(F8, sc, sb + 8);
            a0 = s0.fma(d0, a0);
            b0 = t0.fma(d1, b0);
            a1 = s1.fma(d0, a1);
            b1 = t1.fma(d1, b1);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
            a1 = a1.add(FloatVector.fromArray(F8, out, o + os));
            b1 = b1.add(FloatVector.fromArray(F8, out, o + os + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
        a1.intoArray(out, o + os);
        b1.intoArray(out, o + os + 8);
    }

    private static void q8x16x1(byte[] w, float[] sc, int cols, int p, float[] x, int x0, float[] out, int o,
            boolean acc) {
        int blocks = cols / 32;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        for (int bl = 0; bl < blocks; bl++) {
            int blk = (p * blocks + bl) * PANEL * 32;
            int xk = x0 + bl * 32;
            FloatVector s0 = FloatVector.zero(F8);
            FloatVector t0 = s0;
            for (int k = 0; k < 32; k++) {
                int i = blk + k * PANEL;
                FloatVector v = FloatVector.broadcast(F8, x[xk + k]);
                s0 = q8(w, i).fma(v, s0);
                t0 = q8(w, i + 8).fma(v, t0);
            }
            int sb = (p * blocks + bl) * PANEL;
            a0 = s0.fma(FloatVector.fromArray(F8, sc, sb), a0);
            b0 = t0.fma(FloatVector.fromArray(F8, sc, sb + 8), b0);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
    }

    private static void q8x32x1(byte[] w, float[] sc, int cols, int p, float[] x, int x0, float[] out, int o,
            boolean acc) {
        int blocks = cols / 32;
        int panelBytes = blocks * PANEL * 32;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        FloatVector c0 = a0;
        FloatVector e0 = a0;
        for (int bl = 0; bl < blocks; bl++) {
            int blk = (p * blocks + bl) * PANEL * 32;
            int nxt = blk + panelBytes;
            int xk = x0 + bl * 32;
            FloatVector s0 = FloatVector.zero(F8);
            FloatVector t0 = s0;
            FloatVector u0 = s0;
            FloatVector z0 = s0;
            for (int k = 0; k < 32; k++) {
                int i = blk + k * PANEL;
                int j = nxt + k * PANEL;
                FloatVector v = FloatVector.broadcast(F8, x[xk + k]);
                s0 = q8(w, i).fma(v, s0);
                t0 = q8(w, i + 8).fma(v, t0);
                u0 = q8(w, j).fma(v, u0);
                z0 = q8(w, j + 8).fma(v, z0);
            }
            int sb = (p * blocks + bl) * PANEL;
            int nb = sb + blocks * PANEL;
            a0 = s0.fma(FloatVector.fromArray(F8, sc, sb), a0);
            b0 = t0.fma(FloatVector.fromArray(F8, sc, sb + 8), b0);
            c0 = u0.fma(FloatVector.fromArray(F8, sc, nb), c0);
            e0 = z0.fma(FloatVector.fromArray(F8, sc, nb + 8), e0);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
            c0 = c0.add(FloatVector.fromArray(F8, out, o + PANEL));
            e0 = e0.add(FloatVector.fromArray(F8, out, o + PANEL + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
        c0.intoArray(out, o + PANEL);
        e0.intoArray(out, o + PANEL + 8);
    }

    // Q4_0: a column's 8 bytes, widened to ints, hold rows 0-7 in their low nibbles and rows 8-15
    // in their high ones. The values are q - 8: Σ (q - 8) x = Σ q x - 8 Σ x, with Σ x kept per block.

    static void matmulQ4_0Packed(byte[] w, float[] sc, int cols, int rowStart, int rowFrom, int rowTo, float[] x,
            int xOff, int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        walk(KIND_Q4_0, sc, null, w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                accumulate);
    }

    /** A column's 8 bytes widened to ints (each holds the nibbles of rows j and j + 8). */
    private static IntVector q4(byte[] w, int i) {
        return (IntVector) ByteVector.fromArray(B8, w, i).convertShape(VectorOperators.B2I, I8, 0);
    }

    private static FloatVector lo(IntVector q) {
        return (FloatVector) q.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F8, 0);
    }

    private static FloatVector hi(IntVector q) {
        return (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8).convertShape(VectorOperators.I2F, F8, 0);
    }

    private static void q4x16x2(byte[] w, float[] sc, int cols, int p, float[] x, int x0, int xs, float[] out,
            int o, int os, boolean acc) {
        int blocks = cols / 32;
        int x1 = x0 + xs;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        FloatVector a1 = a0;
        FloatVector b1 = a0;
        for (int bl = 0; bl < blocks; bl++) {
            int blk = (p * blocks + bl) * PANEL * 16;
            int xk = bl * 32;
            FloatVector s0 = FloatVector.zero(F8);
            FloatVector t0 = s0;
            FloatVector s1 = s0;
            FloatVector t1 = s0;
            for (int k = 0; k < 32; k++) {
                IntVector q = q4(w, blk + k * 8);
                FloatVector w0 = lo(q);
                FloatVector w1 = hi(q);
                FloatVector v = FloatVector.broadcast(F8, x[x0 + xk + k]);
                s0 = w0.fma(v, s0);
                t0 = w1.fma(v, t0);
                v = FloatVector.broadcast(F8, x[x1 + xk + k]);
                s1 = w0.fma(v, s1);
                t1 = w1.fma(v, t1);
            }
            int sb = (p * blocks + bl) * PANEL;
            FloatVector d0 = FloatVector.fromArray(F8, sc, sb);
            FloatVector d1 = FloatVector.fromArray(F8, sc, sb + 8);
            a0 = s0.fma(d0, a0);
            b0 = t0.fma(d1, b0);
            a1 = s1.fma(d0, a1);
            b1 = t1.fma(d1, b1);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
            a1 = a1.add(FloatVector.fromArray(F8, out, o + os));
            b1 = b1.add(FloatVector.fromArray(F8, out, o + os + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
        a1.intoArray(out, o + os);
        b1.intoArray(out, o + os + 8);
    }

    private static void q4x16x1(byte[] w, float[] sc, int cols, int p, float[] x, int x0, float[] out, int o,
            boolean acc) {
        int blocks = cols / 32;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        for (int bl = 0; bl < blocks; bl++) {
            int blk = (p * blocks + bl) * PANEL * 16;
            int xk = x0 + bl * 32;
            FloatVector s0 = FloatVector.zero(F8);
            FloatVector t0 = s0;
            for (int k = 0; k < 32; k++) {
                IntVector q = q4(w, blk + k * 8);
                FloatVector v = FloatVector.broadcast(F8, x[xk + k]);
                s0 = lo(q).fma(v, s0);
                t0 = hi(q).fma(v, t0);
            }
            int sb = (p * blocks + bl) * PANEL;
            a0 = s0.fma(FloatVector.fromArray(F8, sc, sb), a0);
            b0 = t0.fma(FloatVector.fromArray(F8, sc, sb + 8), b0);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
    }

    private static void q4x32x1(byte[] w, float[] sc, int cols, int p, float[] x, int x0, float[] out, int o,
            boolean acc) {
        int blocks = cols / 32;
        int panelBytes = blocks * PANEL * 16;
        FloatVector a0 = FloatVector.zero(F8);
        FloatVector b0 = a0;
        FloatVector c0 = a0;
        FloatVector e0 = a0;
        for (int bl = 0; bl < blocks; bl++) {
            int blk = (p * blocks + bl) * PANEL * 16;
            int nxt = blk + panelBytes;
            int xk = x0 + bl * 32;
            FloatVector s0 = FloatVector.zero(F8);
            FloatVector t0 = s0;
            FloatVector u0 = s0;
            FloatVector z0 = s0;
            for (int k = 0; k < 32; k++) {
                IntVector q = q4(w, blk + k * 8);
                IntVector r = q4(w, nxt + k * 8);
                FloatVector v = FloatVector.broadcast(F8, x[xk + k]);
                s0 = lo(q).fma(v, s0);
                t0 = hi(q).fma(v, t0);
                u0 = lo(r).fma(v, u0);
                z0 = hi(r).fma(v, z0);
            }
            int sb = (p * blocks + bl) * PANEL;
            int nb = sb + blocks * PANEL;
            a0 = s0.fma(FloatVector.fromArray(F8, sc, sb), a0);
            b0 = t0.fma(FloatVector.fromArray(F8, sc, sb + 8), b0);
            c0 = u0.fma(FloatVector.fromArray(F8, sc, nb), c0);
            e0 = z0.fma(FloatVector.fromArray(F8, sc, nb + 8), e0);
        }
        if (acc) {
            a0 = a0.add(FloatVector.fromArray(F8, out, o));
            b0 = b0.add(FloatVector.fromArray(F8, out, o + 8));
            c0 = c0.add(FloatVector.fromArray(F8, out, o + PANEL));
            e0 = e0.add(FloatVector.fromArray(F8, out, o + PANEL + 8));
        }
        a0.intoArray(out, o);
        b0.intoArray(out, o + 8);
        c0.intoArray(out, o + PANEL);
        e0.intoArray(out, o + PANEL + 8);
    }
}
