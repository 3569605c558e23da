package org.halyard.engine.cpu.model;

import java.util.List;
import org.halyard.engine.api.LayerRouting;
import org.halyard.engine.cpu.kernel.Kernels;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.tensor.Matrix;
import org.halyard.kvcache.api.KvSequence;

/**
 * The Llama-family forward pass (Llama 2/3, Mistral, Mixtral): RMSNorm, RoPE, grouped-query
 * causal attention over KV Cache++ sequences, SwiGLU feed-forward or a Mixtral-style mixture
 * of SwiGLU experts, batched over every token of a step. Each weight matrix is read once per
 * step for all tokens; keys and values go to and come from each sequence's {@link KvSequence}.
 *
 * <p>Not thread safe: one step at a time (the {@link Workspace} and the loop bodies are reused);
 * the work inside a step is spread over the {@link Parallel} it is given. A warm step allocates
 * nothing but the routing record of each mixture-of-experts layer: its loops are reusable
 * objects, not capturing lambdas.
 */
public final class Llama {

    private final LlamaConfig c;
    private final LlamaWeights w;
    /** RoPE inverse frequencies {@code theta^(-2i/ropeDim)}, {@code [ropeDim/2]}. */
    private final double[] invFreq;
    // the parallel loops of a step (fields set before each loop)
    private final MatmulLoop matmul = new MatmulLoop();
    private final RmsNormLoop rmsnormLoop = new RmsNormLoop();
    private final KvWriteLoop kvWrite = new KvWriteLoop();
    private final AttentionLoop attention = new AttentionLoop();

    public Llama(LlamaConfig config, LlamaWeights weights) {
        weights.check(config);
        this.c = config;
        this.w = weights;
        this.invFreq = new double[config.ropeDim() / 2];
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.ropeDim());
        }
    }

    public LlamaConfig config() {
        return c;
    }

    public LlamaWeights weights() {
        return w;
    }

    /**
     * Runs the batch through the model: writes every token's keys and values into its sequence's
     * slot at its position, and the logits of the rows the batch asked for into
     * {@code ws.logits} ({@code [logitCount][vocab]}).
     *
     * @param routing receives what each MoE layer's router did (nothing for dense models)
     */
    public void forward(Batch b, Workspace ws, Parallel par, List<LayerRouting> routing) {
        final int T = b.size;
        final int dim = c.dim();
        final int qDim = c.qDim();
        final int kvDim = c.kvDim();
        ws.ensure(c, T, maxPosition(b) + 1, b.logitCount, par.maxChunks());
        final float[] x = ws.x;
        final float[] xb = ws.xb;

        // token embeddings: x[t] = E[token[t]]                                 x: [T][dim]
        for (int t = 0; t < T; t++) {
            w.tokenEmbedding().copyRow(b.token[t], x, t * dim);
        }
        ropeAngles(b, ws);

        for (int l = 0; l < c.layers(); l++) {
            LlamaWeights.Layer layer = w.layers()[l];

            // attention: xb = RMSNorm(x); q = Wq xb, k = Wk xb, v = Wv xb       q: [T][heads*headDim]
            rmsnorm(par, xb, x, layer.attnNorm(), T);
            matmul.of(xb, dim, T, false).add(layer.wq(), ws.q, qDim).add(layer.wk(), ws.k, kvDim)
                    .add(layer.wv(), ws.v, kvDim).execute(par);

            // rotate q and k by position
            rope(ws.q, T, c.heads(), ws);
            rope(ws.k, T, c.kvHeads(), ws);

            // store this step's keys and values in each sequence's slot at the token's position
            kvWrite.run(par, b, ws, l);

            // causal grouped-query attention: token at position p sees slots [0, p] of its sequence
            attention.run(par, b, ws, l);

            // x += Wo att
            matmul.of(ws.att, qDim, T, true).add(layer.wo(), x, dim).execute(par);

            // feed-forward: xb = RMSNorm(x); x += FFN(xb)
            rmsnorm(par, xb, x, layer.ffnNorm(), T);
            if (layer.router() == null) {
                // h1 = silu(W1 xb) * W3 xb; x += W2 h1
                matmul.swiglu(par, layer.gate()[0], layer.up()[0], xb, T, ws.h1, ws.h3);
                matmul.of(ws.h1, c.ffnDim(), T, true).add(layer.down()[0], x, dim).execute(par);
            } else {
                routing.add(mixtureOfExperts(par, layer, l, xb, T, ws));
                Kernels.add(ws.ffnOut, 0, x, 0, T * dim);
            }
        }

        // logits only where asked: out = W_out RMSNorm(x[row])                 logits: [R][vocab]
        int R = b.logitCount;
        if (R > 0) {
            for (int r = 0; r < R; r++) {
                Kernels.rmsnorm(xb, r * dim, x, b.logitRows[r] * dim, w.outputNorm(), dim, c.normEps());
            }
            matmul.of(xb, dim, R, false).add(w.output(), ws.logits, c.vocabSize()).execute(par);
        }
    }

    private static int maxPosition(Batch b) {
        int m = 0;
        for (int t = 0; t < b.size; t++) {
            m = Math.max(m, b.position[t]);
        }
        return m;
    }

    // ---- attention ----------------------------------------------------------------------------

    /** Writes every token's keys and values of one layer into its sequence's slot. */
    private final class KvWriteLoop implements Parallel.Body {
        private Batch b;
        private Workspace ws;
        private int layer;

        void run(Parallel par, Batch batch, Workspace workspace, int l) {
            b = batch;
            ws = workspace;
            layer = l;
            if (batch.size == 1) {
                run(0, 0, 1);
            } else {
                par.forRange(batch.size, this);
            }
            b = null;
            ws = null;
        }

        @Override
        public void run(int chunk, int from, int to) {
            int kvDim = c.kvDim();
            for (int t = from; t < to; t++) {
                b.kv[b.sequence[t]].write(layer, b.position[t], ws.k, t * kvDim, ws.v, t * kvDim);
            }
        }
    }

    /**
     * Causal grouped-query attention of every (token, head): scores through
     * {@link KvSequence#keyDots}, softmax, values through {@link KvSequence#valueSum}.
     */
    private final class AttentionLoop implements Parallel.Body {
        private Batch b;
        private Workspace ws;
        private int layer;

        void run(Parallel par, Batch batch, Workspace workspace, int l) {
            b = batch;
            ws = workspace;
            layer = l;
            par.forRange(batch.size * c.heads(), this);
            b = null;
            ws = null;
        }

        @Override
        public void run(int chunk, int from, int to) {
            final int heads = c.heads();
            final int headDim = c.headDim();
            final int qDim = c.qDim();
            final int group = heads / c.kvHeads();
            final float scale = (float) (1.0 / Math.sqrt(headDim));
            float[] scores = ws.scores[chunk];
            for (int i = from; i < to; i++) {
                int t = i / heads;
                int h = i % heads;
                int kvHead = h / group;
                int n = b.position[t] + 1;
                KvSequence kv = b.kv[b.sequence[t]];
                int qOff = t * qDim + h * headDim;
                // scores[s] = q · K[s]; softmax(scores / sqrt(headDim))         s in [0, p]
                kv.keyDots(layer, kvHead, ws.q, qOff, 0, n, scores, 0);
                Kernels.softmax(scores, 0, n, scale);
                // att[t][h] = Σ_s softmax(scores)[s] · V[s]
                java.util.Arrays.fill(ws.att, qOff, qOff + headDim, 0f);
                kv.valueSum(layer, kvHead, scores, 0, 0, n, ws.att, qOff);
            }
        }
    }

    // ---- RoPE ---------------------------------------------------------------------------------

    /** cos and sin of every token's angles: {@code ws.cos[t][i] = cos(position[t] * invFreq[i])}. */
    private void ropeAngles(Batch b, Workspace ws) {
        int half = invFreq.length;
        for (int t = 0; t < b.size; t++) {
            double p = b.position[t];
            for (int i = 0; i < half; i++) {
                double a = p * invFreq[i];
                ws.cos[t * half + i] = (float) Math.cos(a);
                ws.sin[t * half + i] = (float) Math.sin(a);
            }
        }
    }

    /**
     * Rotates the first {@code ropeDim} values of every head of every token.
     *
     * <pre>
     *   ADJACENT (GGUF):  pair i = (h[2i], h[2i+1])
     *   HALF (HF):        pair i = (h[i],  h[i + ropeDim/2])
     *   (a, b) -&gt; (a cos - b sin, a sin + b cos)
     * </pre>
     */
    private void rope(float[] v, int T, int nHeads, Workspace ws) {
        int headDim = c.headDim();
        int half = invFreq.length;
        boolean adjacent = c.rope() == LlamaConfig.RopeLayout.ADJACENT;
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < nHeads; h++) {
                Kernels.rope(v, (t * nHeads + h) * headDim, ws.cos, ws.sin, t * half, half, adjacent);
            }
        }
    }

    // ---- feed-forward -------------------------------------------------------------------------

    /** out = W2 (silu(W1 x) * W3 x) for {@code n} tokens of {@code x}. */
    private void swiglu(Parallel par, Matrix gate, Matrix up, Matrix down, float[] x, int n, float[] out,
            Workspace ws) {
        matmul.swiglu(par, gate, up, x, n, ws.h1, ws.h3);
        matmul.of(ws.h1, c.ffnDim(), n, false).add(down, out, c.dim()).execute(par);
    }

    /**
     * Mixtral-style mixture of experts: softmax over the router's logits, keep the top
     * {@code expertsUsed}, renormalise their weights to sum to 1, and add each chosen expert's
     * SwiGLU output times its weight. Tokens are grouped by expert so each expert's matrices are
     * read once for all the tokens that chose it.
     *
     * <pre>
     *   choice[t*k + j] = j-th expert of token t     weight[t*k + j] its renormalised weight
     *   grouped by expert:  expert e serves slots order[start[e] .. start[e+1])
     * </pre>
     */
    private LayerRouting mixtureOfExperts(Parallel par, LlamaWeights.Layer layer, int l, float[] x, int T,
            Workspace ws) {
        int E = c.experts();
        int k = c.expertsUsed();
        int dim = c.dim();
        matmul.of(x, dim, T, false).add(layer.router(), ws.routerLogits, E).execute(par);
        long[] expertTokens = new long[E];
        double entropySum = 0;
        for (int t = 0; t < T; t++) {
            int o = t * E;
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < E; e++) {
                max = Math.max(max, ws.routerLogits[o + e]);
            }
            double sum = 0;
            for (int e = 0; e < E; e++) {
                double p = Math.exp(ws.routerLogits[o + e] - max);
                ws.routerProbs[o + e] = (float) p;
                sum += p;
            }
            double entropy = 0;
            for (int e = 0; e < E; e++) {
                float p = (float) (ws.routerProbs[o + e] / sum);
                ws.routerProbs[o + e] = p;
                if (p > 0) {
                    entropy -= p * Math.log(p);
                }
            }
            entropySum += entropy;
            // top-k by probability (ties to the lower expert id), then renormalise
            float chosen = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int e = 0; e < E; e++) {
                    if (!isChosen(ws.choice, t * k, j, e)
                            && (best < 0 || ws.routerProbs[o + e] > ws.routerProbs[o + best])) {
                        best = e;
                    }
                }
                ws.choice[t * k + j] = best;
                ws.choiceWeight[t * k + j] = ws.routerProbs[o + best];
                chosen += ws.routerProbs[o + best];
                expertTokens[best]++;
            }
            for (int j = 0; j < k; j++) {
                ws.choiceWeight[t * k + j] /= chosen;
            }
        }
        if (ws.observer != null) {
            ws.observer.routed(l, T, ws.routerProbs, ws.choice, ws.choiceWeight);
        }
        // group the (token, expert) slots by expert: a counting sort
        int[] start = ws.expertStart;
        java.util.Arrays.fill(start, 0, E + 1, 0);
        for (int s = 0; s < T * k; s++) {
            start[ws.choice[s] + 1]++;
        }
        for (int e = 0; e < E; e++) {
            start[e + 1] += start[e];
        }
        int[] fill = ws.expertFill;
        System.arraycopy(start, 0, fill, 0, E);
        for (int s = 0; s < T * k; s++) {
            ws.order[fill[ws.choice[s]]++] = s;
        }
        java.util.Arrays.fill(ws.ffnOut, 0, T * dim, 0f);
        for (int e = 0; e < E; e++) {
            int n = start[e + 1] - start[e];
            if (n == 0) {
                continue;
            }
            // gather the inputs of the tokens routed to e
            for (int i = 0; i < n; i++) {
                int t = ws.order[start[e] + i] / k;
                System.arraycopy(x, t * dim, ws.gathered, i * dim, dim);
            }
            swiglu(par, layer.gate()[e], layer.up()[e], layer.down()[e], ws.gathered, n, ws.expertOut, ws);
            // scatter: out[t] += weight * expert(x[t])
            for (int i = 0; i < n; i++) {
                int s = ws.order[start[e] + i];
                Kernels.axpy(ws.choiceWeight[s], ws.expertOut, i * dim, ws.ffnOut, (s / k) * dim, dim);
            }
        }
        return new LayerRouting(l, T, expertTokens, entropySum);
    }

    private static boolean isChosen(int[] choice, int base, int j, int e) {
        for (int i = 0; i < j; i++) {
            if (choice[base + i] == e) {
                return true;
            }
        }
        return false;
    }

    // ---- RMSNorm ------------------------------------------------------------------------------

    private void rmsnorm(Parallel par, float[] out, float[] x, float[] weight, int T) {
        if (T == 1) {
            Kernels.rmsnorm(out, 0, x, 0, weight, c.dim(), c.normEps());
            return;
        }
        rmsnormLoop.run(par, out, x, weight, T);
    }

    /** RMSNorm of every token's row. */
    private final class RmsNormLoop implements Parallel.Body {
        private float[] out;
        private float[] x;
        private float[] weight;

        void run(Parallel par, float[] o, float[] in, float[] wt, int T) {
            out = o;
            x = in;
            weight = wt;
            par.forRange(T, this);
            out = null;
            x = null;
            weight = null;
        }

        @Override
        public void run(int chunk, int from, int to) {
            int dim = c.dim();
            for (int t = from; t < to; t++) {
                Kernels.rmsnorm(out, t * dim, x, t * dim, weight, dim, c.normEps());
            }
        }
    }
}
