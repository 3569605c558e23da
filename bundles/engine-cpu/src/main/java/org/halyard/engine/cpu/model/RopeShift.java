package org.halyard.engine.cpu.model;

import org.halyard.kvcache.api.KeyRewriter;

/**
 * Moves stored keys by {@code delta} positions (llama.cpp's K-shift). RoPE rotates each pair of
 * a key by {@code position * invFreq[i]}, and rotations add, so a key stored after rotation at
 * position {@code p}, rotated once more by {@code delta * invFreq[i]}, is the key of position
 * {@code p + delta}. A sliding window that drops {@code d} slots after its attention sinks
 * rotates the keys behind them by {@code -d}, so the positions attention sees stay within the
 * cache (StreamingLLM). Values carry no position and stay as they are.
 *
 * <pre>
 *   ADJACENT (GGUF):  pair i = (k[2i], k[2i+1])        HALF (HF):  pair i = (k[i], k[i + ropeDim/2])
 *   (a, b) -&gt; (a cos - b sin, a sin + b cos)          with angle delta * theta^(-2i/ropeDim)
 * </pre>
 *
 * Angles are computed in double, as in {@link Llama}, so a shifted key equals the key computed
 * at the new position to float rounding.
 */
public final class RopeShift implements KeyRewriter {

    private final boolean adjacent;
    private final int half;
    private final float[] cos;
    private final float[] sin;

    public RopeShift(LlamaConfig config, int delta) {
        this.adjacent = config.rope() == LlamaConfig.RopeLayout.ADJACENT;
        this.half = config.ropeDim() / 2;
        this.cos = new float[half];
        this.sin = new float[half];
        for (int i = 0; i < half; i++) {
            double angle = delta * (1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.ropeDim()));
            cos[i] = (float) Math.cos(angle);
            sin[i] = (float) Math.sin(angle);
        }
    }

    @Override
    public void rewrite(int layer, int kvHead, int slot, float[] key, int off) {
        for (int i = 0; i < half; i++) {
            int ia = adjacent ? off + 2 * i : off + i;
            int ib = adjacent ? ia + 1 : ia + half;
            float a = key[ia];
            float b = key[ib];
            key[ia] = a * cos[i] - b * sin[i];
            key[ib] = a * sin[i] + b * cos[i];
        }
    }
}
