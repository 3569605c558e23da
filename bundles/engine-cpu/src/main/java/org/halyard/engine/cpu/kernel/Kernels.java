package org.halyard.engine.cpu.kernel;

/**
 * The engine's compute kernels: products of weight matrices (F32, F16, BF16, Q8_0, Q4_0 in heap
 * arrays, quantised blocks exactly as the file stores them) with activations, and the
 * element-wise kernels of a transformer (RMSNorm, RoPE, SwiGLU, softmax). Each is a scalar
 * reference ({@code *Scalar}, public so tests can compare) and a Vector API body in
 * {@link VectorKernels}, chosen once by the vector width:
 *
 * <pre>
 *   -Dhalyard.vector.bits=0     scalar only (the reference)
 *   -Dhalyard.vector.bits=256   256-bit vectors (default: the CPU's preferred width)
 * </pre>
 *
 * <p>Matrix products take a range of weight rows and any number of tokens, and read each weight
 * once for all the tokens; quantised weights are decoded in registers, never into memory:
 *
 * <pre>
 *   out[outOff + t*outStride + r] (+)= W[r] · x[xOff + t*xStride .. + cols)   r in [rowFrom, rowTo), t &lt; tokens
 * </pre>
 *
 * Two layouts: row-major ({@code matmulF32} ...: W[r] starts at element or byte
 * {@code w0 + r * row length}; dot products along a row, reduced across lanes) and panels of
 * {@link #PANEL} rows stored column by column ({@code matmul*Packed}: outer products, each lane
 * one row, no reduction; W[r] is row {@code rowStart + r} of the panels, see {@link #panelIndex}).
 * Panels are what the loaders use whenever the rows come in whole panels: the outer-product tile
 * of 16 rows x 4 tokens keeps twelve vector registers busy without spilling.
 *
 * <p>The vector bodies compute every (row, token) product with the same sequence of operations
 * whatever the tile it falls in, so a token's result does not depend on how many tokens share the
 * step or how rows are split among threads.
 *
 * <p>Model code never sees SIMD, and kernels never see layers.
 */
public final class Kernels {

    /** Rows per panel of a packed weight matrix: two 8-float vectors. */
    public static final int PANEL = 16;

    /** Vector width in bits the kernels use; 0 when they run the scalar reference. */
    public static final int VECTOR_BITS = vectorBits();

    private static final boolean VECTOR = VECTOR_BITS > 0;
    /** Half-float and quantised kernels decode 8 values into a 256-bit float vector. */
    private static final boolean VECTOR_256 = VECTOR_BITS >= 256;

    private Kernels() {
    }

    private static int vectorBits() {
        try {
            // through our own class loader: in OSGi the package must also be wired to the bundle
            Class.forName("jdk.incubator.vector.FloatVector", false, Kernels.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return 0; // no --add-modules jdk.incubator.vector, or a framework that does not export it
        }
        String requested = System.getProperty("halyard.vector.bits");
        int preferred = VectorKernels.preferredBits();
        if (requested == null || requested.isBlank()) {
            return preferred;
        }
        int bits;
        try {
            bits = Integer.parseInt(requested.trim());
        } catch (NumberFormatException e) {
            return preferred;
        }
        if (bits == 0) {
            return 0;
        }
        return (bits == 128 || bits == 256 || bits == 512) && bits <= preferred ? bits : preferred;
    }

    // ---- float[] · float[] -------------------------------------------------------------------

    /** {@code Σ a[aOff+i] * b[bOff+i]} for {@code i < n}. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        return VECTOR && n >= 16 ? VectorKernels.dot(a, aOff, b, bOff, n) : dotScalar(a, aOff, b, bOff, n);
    }

    public static float dotScalar(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** {@code y[yOff+i] += a * x[xOff+i]} for {@code i < n}. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        if (VECTOR && n >= 16) {
            VectorKernels.axpy(a, x, xOff, y, yOff, n);
        } else {
            axpyScalar(a, x, xOff, y, yOff, n);
        }
    }

    public static void axpyScalar(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    /** {@code y[yOff+i] += x[xOff+i]} for {@code i < n} (residual connections). */
    public static void add(float[] x, int xOff, float[] y, int yOff, int n) {
        if (VECTOR && n >= 16) {
            VectorKernels.add(x, xOff, y, yOff, n);
        } else {
            addScalar(x, xOff, y, yOff, n);
        }
    }

    public static void addScalar(float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    // ---- element-wise kernels of the forward pass --------------------------------------------

    /**
     * RMSNorm of one row: {@code out = x / sqrt(mean(x²) + eps) * weight}, {@code n} values
     * ({@code out} may be {@code x}).
     */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        if (VECTOR && n >= 16) {
            VectorKernels.rmsnorm(out, outOff, x, xOff, weight, n, eps);
        } else {
            rmsnormScalar(out, outOff, x, xOff, weight, n, eps);
        }
    }

    public static void rmsnormScalar(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += (double) x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = weight[i] * (x[xOff + i] * inv);
        }
    }

    /**
     * Softmax of {@code scale * x[off .. off+n)} in place (attention scores: {@code scale} is
     * {@code 1/sqrt(headDim)}).
     */
    public static void softmax(float[] x, int off, int n, float scale) {
        if (VECTOR && n >= 16) {
            VectorKernels.softmax(x, off, n, scale);
        } else {
            softmaxScalar(x, off, n, scale);
        }
    }

    public static void softmaxScalar(float[] x, int off, int n, float scale) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp((x[off + i] - max) * scale);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /** SwiGLU's gate in place: {@code gate = silu(gate) * up = gate / (1 + exp(-gate)) * up}. */
    public static void swiglu(float[] gate, int gOff, float[] up, int uOff, int n) {
        if (VECTOR && n >= 16) {
            VectorKernels.swiglu(gate, gOff, up, uOff, n);
        } else {
            swigluScalar(gate, gOff, up, uOff, n);
        }
    }

    public static void swigluScalar(float[] gate, int gOff, float[] up, int uOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
        }
    }

    /**
     * Rotates one head in place by its position's angles ({@code half} pairs; {@code cos[c+i]},
     * {@code sin[c+i]} for pair {@code i}).
     *
     * <pre>
     *   adjacent (GGUF):     pair i = (v[2i], v[2i+1])
     *   rotate-half (HF):    pair i = (v[i],  v[i + half])
     *   (a, b) -&gt; (a cos - b sin, a sin + b cos)
     * </pre>
     */
    public static void rope(float[] v, int off, float[] cos, float[] sin, int c, int half, boolean adjacent) {
        if (VECTOR && half >= 16) {
            VectorKernels.rope(v, off, cos, sin, c, half, adjacent);
        } else {
            ropeScalar(v, off, cos, sin, c, half, adjacent);
        }
    }

    public static void ropeScalar(float[] v, int off, float[] cos, float[] sin, int c, int half, boolean adjacent) {
        for (int i = 0; i < half; i++) {
            int ia = adjacent ? off + 2 * i : off + i;
            int ib = adjacent ? ia + 1 : ia + half;
            float a = v[ia];
            float b = v[ib];
            v[ia] = a * cos[c + i] - b * sin[c + i];
            v[ib] = a * sin[c + i] + b * cos[c + i];
        }
    }

    // ---- weight matrices · activations ---------------------------------------------------------

    /** F32 rows of {@code cols} floats from element {@code w0}. */
    public static void matmulF32(float[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        if (VECTOR) {
            VectorKernels.matmulF32(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        } else {
            matmulF32Scalar(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride, accumulate);
        }
    }

    public static void matmulF32Scalar(float[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int row = w0 + r * cols;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int i = 0; i < cols; i++) {
                    s += w[row + i] * x[xt + i];
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    /**
     * F16 rows of {@code cols} half floats from element {@code w0}. {@code finite}: the tensor holds
     * no infinity or NaN, which the vector body's bit-level conversion does not decode (it falls
     * back to the scalar reference otherwise).
     */
    public static void matmulF16(short[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff, int xStride,
            int tokens, float[] out, int outOff, int outStride, boolean accumulate, boolean finite) {
        if (VECTOR_256 && finite) {
            VectorKernels.matmulF16(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        } else {
            matmulF16Scalar(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride, accumulate);
        }
    }

    public static void matmulF16Scalar(short[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int row = w0 + r * cols;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int i = 0; i < cols; i++) {
                    s += Float16.toFloat(w[row + i]) * x[xt + i];
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    /** BF16 rows of {@code cols} bfloat16s from element {@code w0}. */
    public static void matmulBF16(short[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        if (VECTOR_256) {
            VectorKernels.matmulBF16(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        } else {
            matmulBF16Scalar(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        }
    }

    public static void matmulBF16Scalar(short[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int row = w0 + r * cols;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int i = 0; i < cols; i++) {
                    s += Float16.bf16ToFloat(w[row + i]) * x[xt + i];
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    /**
     * Q8_0 rows of {@code cols/32} blocks from byte {@code w0}.
     *
     * <pre>
     *   block (34 bytes): | d: f16 | q[0] q[1] ... q[31]: int8 |     x[j] = d * q[j]
     * </pre>
     */
    public static void matmulQ8_0(byte[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        if (VECTOR_256) {
            VectorKernels.matmulQ8_0(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        } else {
            matmulQ8_0Scalar(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        }
    }

    public static void matmulQ8_0Scalar(byte[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        int rowBytes = cols / 32 * 34;
        for (int r = rowFrom; r < rowTo; r++) {
            int row = w0 + r * rowBytes;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int b = 0; b < cols / 32; b++) {
                    int blk = row + b * 34;
                    float d = Float16.toFloat(Float16.shortAt(w, blk));
                    float bs = 0;
                    int xb = xt + b * 32;
                    for (int j = 0; j < 32; j++) {
                        bs += w[blk + 2 + j] * x[xb + j];
                    }
                    s += d * bs;
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    /**
     * Q4_0 rows of {@code cols/32} blocks from byte {@code w0}.
     *
     * <pre>
     *   block (18 bytes): | d: f16 | qs[0] ... qs[15] |
     *   x[j]    = d * ((qs[j] &amp; 0xF) - 8)      j in [0, 16)
     *   x[j+16] = d * ((qs[j] &gt;&gt; 4)  - 8)
     * </pre>
     */
    public static void matmulQ4_0(byte[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        if (VECTOR_256) {
            VectorKernels.matmulQ4_0(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        } else {
            matmulQ4_0Scalar(w, w0, cols, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        }
    }

    public static void matmulQ4_0Scalar(byte[] w, int w0, int cols, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        int rowBytes = cols / 32 * 18;
        for (int r = rowFrom; r < rowTo; r++) {
            int row = w0 + r * rowBytes;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int b = 0; b < cols / 32; b++) {
                    int blk = row + b * 18;
                    float d = Float16.toFloat(Float16.shortAt(w, blk));
                    float bs = 0;
                    int xb = xt + b * 32;
                    for (int j = 0; j < 16; j++) {
                        int q = w[blk + 2 + j] & 0xFF;
                        bs += ((q & 0x0F) - 8) * x[xb + j] + ((q >>> 4) - 8) * x[xb + j + 16];
                    }
                    s += d * bs;
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    // ---- weight panels ------------------------------------------------------------------------

    /**
     * Where element {@code (row, col)} of a packed matrix with rows of {@code cols} sits (F32, F16,
     * BF16; the quantised layouts are in their tensor classes).
     *
     * <pre>
     *   panel p = row / 16:  [ (16p,0) (16p+1,0) ... (16p+15,0) | (16p,1) ... (16p+15,1) | ... ]
     * </pre>
     */
    public static int panelIndex(int row, int col, int cols) {
        return (row / PANEL) * PANEL * cols + col * PANEL + row % PANEL;
    }

    /** F32 panels with rows of {@code cols}; rows {@code rowStart + [rowFrom, rowTo)}. */
    public static void matmulF32Packed(float[] w, int cols, int rowStart, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        if (VECTOR_256) {
            VectorKernels.matmulF32Packed(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        } else {
            matmulF32PackedScalar(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate);
        }
    }

    public static void matmulF32PackedScalar(float[] w, int cols, int rowStart, int rowFrom, int rowTo, float[] x,
            int xOff, int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int row = rowStart + r;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int k = 0; k < cols; k++) {
                    s += w[panelIndex(row, k, cols)] * x[xt + k];
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    /** F16 panels ({@code finite}: as {@link #matmulF16}). */
    public static void matmulF16Packed(short[] w, int cols, int rowStart, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate, boolean finite) {
        if (VECTOR_256 && finite) {
            VectorKernels.matmulHalfPacked(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate, false);
        } else {
            matmulHalfPackedScalar(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate, false);
        }
    }

    /** BF16 panels. */
    public static void matmulBF16Packed(short[] w, int cols, int rowStart, int rowFrom, int rowTo, float[] x, int xOff,
            int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate) {
        if (VECTOR_256) {
            VectorKernels.matmulHalfPacked(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate, true);
        } else {
            matmulHalfPackedScalar(w, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff, outStride,
                    accumulate, true);
        }
    }

    public static void matmulHalfPackedScalar(short[] w, int cols, int rowStart, int rowFrom, int rowTo, float[] x,
            int xOff, int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate,
            boolean bf16) {
        for (int r = rowFrom; r < rowTo; r++) {
            int row = rowStart + r;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int k = 0; k < cols; k++) {
                    short h = w[panelIndex(row, k, cols)];
                    s += (bf16 ? Float16.bf16ToFloat(h) : Float16.toFloat(h)) * x[xt + k];
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    /**
     * Q8_0 panels: the values in {@code q}, the scales as floats in {@code sc} ({@code finite}: no
     * scale is infinite or NaN; infinities would make the vector body's zero values NaN).
     *
     * <pre>
     *   panel p, block b:  q(k, row j) at (p * blocks + b) * 512 + 16k + j     d(row j) at sc[(p * blocks + b) * 16 + j]
     * </pre>
     */
    public static void matmulQ8_0Packed(byte[] q, float[] sc, int cols, int rowStart, int rowFrom, int rowTo,
            float[] x, int xOff, int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate,
            boolean finite) {
        if (VECTOR_256 && finite) {
            VectorKernels.matmulQ8_0Packed(q, sc, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out,
                    outOff, outStride, accumulate);
        } else {
            matmulQ8_0PackedScalar(q, sc, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        }
    }

    public static void matmulQ8_0PackedScalar(byte[] q, float[] sc, int cols, int rowStart, int rowFrom, int rowTo,
            float[] x, int xOff, int xStride, int tokens, float[] out, int outOff, int outStride,
            boolean accumulate) {
        int blocks = cols / 32;
        for (int r = rowFrom; r < rowTo; r++) {
            int row = rowStart + r;
            int j = row % PANEL;
            int panel = (row / PANEL) * blocks;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int b = 0; b < blocks; b++) {
                    int blk = (panel + b) * PANEL * 32;
                    float bs = 0;
                    for (int k = 0; k < 32; k++) {
                        bs += q[blk + k * PANEL + j] * x[xt + b * 32 + k];
                    }
                    s += sc[(panel + b) * PANEL + j] * bs;
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    /**
     * Q4_0 panels: values in {@code q}, scales as floats in {@code sc}.
     *
     * <pre>
     *   panel p, block b:  column k: 8 bytes at (p * blocks + b) * 256 + 8k     d(row j) at sc[(p * blocks + b) * 16 + j]
     *   column byte j: low nibble row j, high nibble row j + 8; element = d * (q - 8)
     * </pre>
     */
    public static void matmulQ4_0Packed(byte[] q, float[] sc, int cols, int rowStart, int rowFrom, int rowTo,
            float[] x, int xOff, int xStride, int tokens, float[] out, int outOff, int outStride, boolean accumulate,
            boolean finite) {
        if (VECTOR_256 && finite) {
            VectorKernels.matmulQ4_0Packed(q, sc, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out,
                    outOff, outStride, accumulate);
        } else {
            matmulQ4_0PackedScalar(q, sc, cols, rowStart, rowFrom, rowTo, x, xOff, xStride, tokens, out, outOff,
                    outStride, accumulate);
        }
    }

    public static void matmulQ4_0PackedScalar(byte[] q, float[] sc, int cols, int rowStart, int rowFrom, int rowTo,
            float[] x, int xOff, int xStride, int tokens, float[] out, int outOff, int outStride,
            boolean accumulate) {
        int blocks = cols / 32;
        for (int r = rowFrom; r < rowTo; r++) {
            int row = rowStart + r;
            int j = row % PANEL;
            int panel = (row / PANEL) * blocks;
            for (int t = 0; t < tokens; t++) {
                int xt = xOff + t * xStride;
                float s = 0;
                for (int b = 0; b < blocks; b++) {
                    int blk = (panel + b) * PANEL * 16;
                    float bs = 0;
                    for (int k = 0; k < 32; k++) {
                        int v = q[blk + k * 8 + (j & 7)] & 0xFF;
                        int n = (j < 8 ? v & 0x0F : v >>> 4) - 8;
                        bs += n * x[xt + b * 32 + k];
                    }
                    s += sc[(panel + b) * PANEL + j] * bs;
                }
                store(out, outOff + t * outStride + r, s, accumulate);
            }
        }
    }

    static void store(float[] out, int i, float s, boolean accumulate) {
        out[i] = accumulate ? out[i] + s : s;
    }
}
