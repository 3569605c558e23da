package org.halyard.engine.cpu.model;

import java.util.Objects;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.Matrix;

/**
 * The weights of a Llama-family decoder, as views of the loaded tensors (the small norm vectors
 * are copied out as float arrays). Matrices are {@code [out][in]}: {@code y = W x} reads row {@code r}
 * of {@code W} for output {@code r}.
 *
 * @param tokenEmbedding {@code [vocab][dim]}
 * @param layers the transformer blocks
 * @param outputNorm {@code [dim]}
 * @param output {@code [vocab][dim]}, the same tensor as the embedding when tied
 * @param tiedOutput whether the output head is the embedding
 */
public record LlamaWeights(Matrix tokenEmbedding, Layer[] layers, float[] outputNorm, Matrix output,
        boolean tiedOutput) {

    /**
     * One block. For a dense model {@code gate/up/down} hold one matrix each; for a mixture of
     * experts one per expert, and {@code router} is set.
     *
     * @param attnNorm {@code [dim]}
     * @param wq {@code [heads*headDim][dim]}
     * @param wk {@code [kvHeads*headDim][dim]}
     * @param wv {@code [kvHeads*headDim][dim]}
     * @param wo {@code [dim][heads*headDim]}
     * @param ffnNorm {@code [dim]}
     * @param router {@code [experts][dim]}, null for a dense block
     * @param gate per expert {@code [ffn][dim]} (w1)
     * @param up per expert {@code [ffn][dim]} (w3)
     * @param down per expert {@code [dim][ffn]} (w2)
     */
    public record Layer(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo, float[] ffnNorm,
            Matrix router, Matrix[] gate, Matrix[] up, Matrix[] down) {

        public Layer {
            Objects.requireNonNull(wq, "wq");
            if (gate.length != up.length || gate.length != down.length || gate.length == 0) {
                throw new IllegalArgumentException("gate/up/down must have one matrix per expert");
            }
        }
    }

    /** Checks every shape against the configuration; throws naming the first mismatch. */
    public void check(LlamaConfig c) {
        shape("token embedding", tokenEmbedding, c.vocabSize(), c.dim());
        shape("output", output, c.vocabSize(), c.dim());
        length("output norm", outputNorm, c.dim());
        if (layers.length != c.layers()) {
            throw new IllegalArgumentException(layers.length + " layers, " + c.layers() + " expected");
        }
        for (int i = 0; i < layers.length; i++) {
            Layer l = layers[i];
            String p = "layer " + i + " ";
            length(p + "attention norm", l.attnNorm(), c.dim());
            length(p + "ffn norm", l.ffnNorm(), c.dim());
            shape(p + "wq", l.wq(), c.qDim(), c.dim());
            shape(p + "wk", l.wk(), c.kvDim(), c.dim());
            shape(p + "wv", l.wv(), c.kvDim(), c.dim());
            shape(p + "wo", l.wo(), c.dim(), c.qDim());
            int experts = c.moe() ? c.experts() : 1;
            if (l.gate().length != experts) {
                throw new IllegalArgumentException(p + "has " + l.gate().length + " experts, " + experts + " expected");
            }
            if (c.moe()) {
                if (l.router() == null) {
                    throw new IllegalArgumentException(p + "has no router");
                }
                shape(p + "router", l.router(), c.experts(), c.dim());
            }
            for (int e = 0; e < experts; e++) {
                shape(p + "gate " + e, l.gate()[e], c.ffnDim(), c.dim());
                shape(p + "up " + e, l.up()[e], c.ffnDim(), c.dim());
                shape(p + "down " + e, l.down()[e], c.dim(), c.ffnDim());
            }
        }
    }

    private static void shape(String what, Matrix m, int rows, int cols) {
        if (m.rows() != rows || m.cols() != cols) {
            throw new IllegalArgumentException(what + " is " + m.rows() + "x" + m.cols() + ", " + rows + "x" + cols
                    + " expected");
        }
    }

    private static void length(String what, float[] v, int n) {
        if (v.length != n) {
            throw new IllegalArgumentException(what + " has " + v.length + " values, " + n + " expected");
        }
    }

    /** Weights (parameters) in all tensors, counting a tied head once. */
    public long parameters() {
        long n = (long) tokenEmbedding.rows() * tokenEmbedding.cols() + outputNorm.length;
        if (!tiedOutput) {
            n += (long) output.rows() * output.cols();
        }
        for (Layer l : layers) {
            n += l.attnNorm().length + l.ffnNorm().length + elements(l.wq()) + elements(l.wk()) + elements(l.wv())
                    + elements(l.wo());
            if (l.router() != null) {
                n += elements(l.router());
            }
            for (int e = 0; e < l.gate().length; e++) {
                n += elements(l.gate()[e]) + elements(l.up()[e]) + elements(l.down()[e]);
            }
        }
        return n;
    }

    /** Bytes of weight data (encoded), counting a tied head once. */
    public long bytes() {
        long n = bytes(tokenEmbedding) + 4L * outputNorm.length;
        if (!tiedOutput) {
            n += bytes(output);
        }
        for (Layer l : layers) {
            n += 4L * (l.attnNorm().length + l.ffnNorm().length) + bytes(l.wq()) + bytes(l.wk()) + bytes(l.wv())
                    + bytes(l.wo());
            if (l.router() != null) {
                n += bytes(l.router());
            }
            for (int e = 0; e < l.gate().length; e++) {
                n += bytes(l.gate()[e]) + bytes(l.up()[e]) + bytes(l.down()[e]);
            }
        }
        return n;
    }

    private static long elements(Matrix m) {
        return (long) m.rows() * m.cols();
    }

    private static long bytes(Matrix m) {
        return m.tensor().type().bytes(elements(m));
    }

    /** Convenience for loaders: a float array copy of a small tensor (norm weights). */
    public static float[] toArray(FloatTensor t) {
        if (t.size() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor too large to copy");
        }
        float[] a = new float[(int) t.size()];
        t.copyTo(0, a, 0, a.length);
        return a;
    }
}
