package org.halyard.engine.cpu.model;

/**
 * The hyper-parameters of a Llama-family decoder (Llama 1-3, Mistral, Mixtral, SmolLM).
 *
 * @param dim model width
 * @param layers transformer blocks
 * @param heads query heads
 * @param kvHeads key/value heads (grouped-query attention: {@code heads / kvHeads} query heads
 *     share one)
 * @param headDim values per head
 * @param ffnDim hidden width of the SwiGLU feed-forward (of each expert)
 * @param vocabSize rows of the embedding and output head
 * @param contextLength the context the model was built for
 * @param normEps RMSNorm epsilon
 * @param ropeTheta RoPE base
 * @param ropeDim leading dimensions of each head that RoPE rotates ({@code <= headDim})
 * @param rope how rotated pairs are laid out in a head
 * @param experts experts per MoE layer, 0 for dense
 * @param expertsUsed experts per token, 0 for dense
 */
public record LlamaConfig(int dim, int layers, int heads, int kvHeads, int headDim, int ffnDim, int vocabSize,
        int contextLength, float normEps, float ropeTheta, int ropeDim, RopeLayout rope, int experts,
        int expertsUsed) {

    /** How the two halves of each rotated pair sit in a head. */
    public enum RopeLayout {
        /** GGUF / llama.cpp / Meta: pairs {@code (2i, 2i+1)}. */
        ADJACENT,
        /** Hugging Face (and GPT-NeoX): pairs {@code (i, i + ropeDim/2)}, "rotate half". */
        HALF
    }

    public LlamaConfig {
        check(dim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && headDim > 0 && ffnDim > 0 && vocabSize > 0,
                "dimensions must be positive");
        check(heads % kvHeads == 0, "heads (" + heads + ") must be a multiple of kv heads (" + kvHeads + ")");
        check(ropeDim > 0 && ropeDim <= headDim && ropeDim % 2 == 0,
                "rope dimension " + ropeDim + " must be even and at most the head size " + headDim);
        check(normEps > 0 && Float.isFinite(normEps), "norm epsilon must be positive: " + normEps);
        check(ropeTheta > 0 && Float.isFinite(ropeTheta), "rope base must be positive: " + ropeTheta);
        check(experts == 0 ? expertsUsed == 0 : expertsUsed > 0 && expertsUsed <= experts,
                "experts used (" + expertsUsed + ") must be in [1, experts (" + experts + ")]");
        check(contextLength > 0, "context length must be positive: " + contextLength);
        check((long) heads * headDim < Integer.MAX_VALUE / 4 && (long) dim * 4 < Integer.MAX_VALUE, "model too wide");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Width of all query heads together. */
    public int qDim() {
        return heads * headDim;
    }

    /** Width of all key (or value) heads together. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Whether the feed-forward layers are a mixture of experts. */
    public boolean moe() {
        return experts > 0;
    }
}
