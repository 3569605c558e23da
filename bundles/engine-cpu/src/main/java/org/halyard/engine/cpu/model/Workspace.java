package org.halyard.engine.cpu.model;

/**
 * Scratch memory of the forward pass, kept from step to step and grown only when a step has more
 * tokens, a longer context or more logit rows than any before, so a warm step allocates nothing.
 */
public final class Workspace {

    /** Sees each mixture-of-experts layer's routing decisions (tests, debugging). */
    @FunctionalInterface
    public interface RouterObserver {
        /**
         * @param probs {@code [tokens][experts]} the router's softmax
         * @param choice {@code [tokens][expertsUsed]} the chosen experts
         * @param weights {@code [tokens][expertsUsed]} their renormalised weights
         */
        void routed(int layer, int tokens, float[] probs, int[] choice, float[] weights);
    }

    RouterObserver observer;

    /** Sets (or with null, removes) the routing observer. */
    public void observer(RouterObserver o) {
        this.observer = o;
    }

    private int tokens = -1;
    private int context = -1;
    private int chunks = -1;
    private int logitRows = -1;

    float[] x;            // [T][dim]   residual stream
    float[] xb;           // [T][dim]   normed input / block output
    float[] q;            // [T][heads*headDim]
    float[] k;            // [T][kvHeads*headDim]
    float[] v;            // [T][kvHeads*headDim]
    float[] att;          // [T][heads*headDim]
    float[] h1;           // [T][ffn]    gate, then silu(gate) * up
    float[] h3;           // [T][ffn]    up
    float[] ffnOut;       // [T][dim]
    float[] cos;          // [T][ropeDim/2]
    float[] sin;          // [T][ropeDim/2]
    float[][] scores;     // [chunk][context]
    float[] logits;       // [R][vocab]
    // mixture of experts
    float[] routerLogits; // [T][experts]
    float[] routerProbs;  // [T][experts]
    int[] choice;         // [T][expertsUsed]
    float[] choiceWeight; // [T][expertsUsed]
    int[] order;          // [T*expertsUsed] slots grouped by expert
    int[] expertStart;    // [experts+1]
    int[] expertFill;     // [experts]
    float[] gathered;     // [T][dim]
    float[] expertOut;    // [T][dim]

    void ensure(LlamaConfig c, int T, int ctx, int R, int nChunks) {
        if (T > tokens) {
            int n = Math.max(T, tokens < 0 ? 1 : Math.min(tokens * 2, Math.max(T, 4096)));
            x = new float[n * c.dim()];
            xb = new float[Math.max(n, 1) * c.dim()];
            q = new float[n * c.qDim()];
            k = new float[n * c.kvDim()];
            v = new float[n * c.kvDim()];
            att = new float[n * c.qDim()];
            h1 = new float[n * c.ffnDim()];
            h3 = new float[n * c.ffnDim()];
            ffnOut = new float[n * c.dim()];
            cos = new float[n * c.ropeDim() / 2];
            sin = new float[n * c.ropeDim() / 2];
            if (c.moe()) {
                routerLogits = new float[n * c.experts()];
                routerProbs = new float[n * c.experts()];
                choice = new int[n * c.expertsUsed()];
                choiceWeight = new float[n * c.expertsUsed()];
                order = new int[n * c.expertsUsed()];
                expertStart = new int[c.experts() + 1];
                expertFill = new int[c.experts()];
                gathered = new float[n * c.dim()];
                expertOut = new float[n * c.dim()];
            }
            tokens = n;
        }
        if (R > logitRows) {
            logitRows = Math.max(R, logitRows * 2);
            logits = new float[logitRows * c.vocabSize()];
            if (logitRows > tokens) {
                xb = new float[logitRows * c.dim()];
            }
        }
        if (xb.length < R * c.dim()) {
            xb = new float[Math.max(tokens, logitRows) * c.dim()];
        }
        if (ctx > context || nChunks > chunks) {
            context = Math.max(ctx, context < 0 ? 64 : Math.min(context * 2, Math.max(ctx, 1 << 20)));
            chunks = Math.max(nChunks, chunks);
            scores = new float[chunks][context];
        }
    }

    /** The logits of row {@code r} start at {@code r * vocab} in this array. */
    public float[] logits() {
        return logits;
    }
}
