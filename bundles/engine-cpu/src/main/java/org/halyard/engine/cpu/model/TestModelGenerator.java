package org.halyard.engine.cpu.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.halyard.engine.cpu.gguf.GGUFWriter;
import org.halyard.engine.cpu.tensor.GGMLType;

/**
 * Writes GGUF files of Llama-family models in realistic shapes with seeded random weights and a
 * synthetic SentencePiece-style vocabulary, so speed and memory can be measured on real sizes
 * without downloads. The files follow llama.cpp's conventions (tensor names, metadata keys,
 * token types), so other GGUF readers load them too.
 *
 * <p>Weights are uniform in {@code ±1/sqrt(fan-in)}, a pure function of (seed, tensor, element):
 * the same arguments write the same bytes.
 */
public final class TestModelGenerator {

    /**
     * A model shape.
     *
     * @param tied whether the output head is the embedding (no {@code output.weight})
     */
    public record Shape(String name, int dim, int layers, int heads, int kvHeads, int ffn, int vocab, int experts,
            int expertsUsed, int context, boolean tied) {

        /** The shape as a configuration. */
        public LlamaConfig config() {
            int headDim = dim / heads;
            return new LlamaConfig(dim, layers, heads, kvHeads, headDim, ffn, vocab, context, 1e-5f, 10000f, headDim,
                    LlamaConfig.RopeLayout.ADJACENT, experts, expertsUsed);
        }
    }

    /** SmolLM-135M's shape: 576 wide, 30 layers, 9 heads of 64, 3 KV heads, FFN 1536, 49152 tokens, tied. */
    public static final Shape LLAMA_135M = new Shape("llama-135m", 576, 30, 9, 3, 1536, 49152, 0, 0, 2048, true);
    /** A small Mixtral: 512 wide, 8 layers, 8 heads, 4 KV heads, 8 experts of FFN 1024, top-2, 32000 tokens. */
    public static final Shape MOE_SMALL = new Shape("moe-small", 512, 8, 8, 4, 1024, 32000, 8, 2, 4096, false);

    /** The named shapes. */
    public static List<Shape> shapes() {
        return List.of(LLAMA_135M, MOE_SMALL);
    }

    private TestModelGenerator() {
    }

    /** Writes a model of {@code shape} with matrices in {@code quant} (norms and the router stay F32). */
    public static void write(Shape shape, GGMLType quant, long seed, Path out) throws IOException {
        LlamaConfig c = shape.config(); // validates the shape
        if (c.dim() % 32 != 0 || c.ffnDim() % 32 != 0 || c.qDim() % 32 != 0) {
            throw new IllegalArgumentException("dimensions must be multiples of 32 (quantisation blocks)");
        }
        GGUFWriter w = new GGUFWriter();
        w.string("general.architecture", "llama");
        w.string("general.name", shape.name() + "-" + quant.name().toLowerCase());
        w.string("general.description", "Halyard test model: seeded random weights (seed " + seed + ")");
        w.u32("general.file_type", fileType(quant));
        w.u32("general.alignment", 32);
        w.u32("llama.context_length", shape.context());
        w.u32("llama.embedding_length", shape.dim());
        w.u32("llama.block_count", shape.layers());
        w.u32("llama.feed_forward_length", shape.ffn());
        w.u32("llama.attention.head_count", shape.heads());
        w.u32("llama.attention.head_count_kv", shape.kvHeads());
        w.u32("llama.rope.dimension_count", c.headDim());
        w.f32("llama.rope.freq_base", 10000f);
        w.f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        w.u32("llama.vocab_size", shape.vocab());
        if (shape.experts() > 0) {
            w.u32("llama.expert_count", shape.experts());
            w.u32("llama.expert_used_count", shape.expertsUsed());
        }
        vocabulary(w, shape.vocab());

        int[] id = {0};
        long dim = shape.dim();
        w.tensor("token_embd.weight", quant, new long[] {dim, shape.vocab()}, random(seed, id[0]++, dim));
        w.tensor("output_norm.weight", GGMLType.F32, new long[] {dim}, i -> 1f);
        if (!shape.tied()) {
            w.tensor("output.weight", quant, new long[] {dim, shape.vocab()}, random(seed, id[0]++, dim));
        }
        for (int l = 0; l < shape.layers(); l++) {
            String p = "blk." + l + ".";
            w.tensor(p + "attn_norm.weight", GGMLType.F32, new long[] {dim}, i -> 1f);
            w.tensor(p + "attn_q.weight", quant, new long[] {dim, c.qDim()}, random(seed, id[0]++, dim));
            w.tensor(p + "attn_k.weight", quant, new long[] {dim, c.kvDim()}, random(seed, id[0]++, dim));
            w.tensor(p + "attn_v.weight", quant, new long[] {dim, c.kvDim()}, random(seed, id[0]++, dim));
            w.tensor(p + "attn_output.weight", quant, new long[] {c.qDim(), dim}, random(seed, id[0]++, c.qDim()));
            w.tensor(p + "ffn_norm.weight", GGMLType.F32, new long[] {dim}, i -> 1f);
            if (shape.experts() > 0) {
                long e = shape.experts();
                w.tensor(p + "ffn_gate_inp.weight", GGMLType.F32, new long[] {dim, e}, random(seed, id[0]++, dim));
                w.tensor(p + "ffn_gate_exps.weight", quant, new long[] {dim, shape.ffn(), e}, random(seed, id[0]++, dim));
                w.tensor(p + "ffn_down_exps.weight", quant, new long[] {shape.ffn(), dim, e},
                        random(seed, id[0]++, shape.ffn()));
                w.tensor(p + "ffn_up_exps.weight", quant, new long[] {dim, shape.ffn(), e}, random(seed, id[0]++, dim));
            } else {
                w.tensor(p + "ffn_gate.weight", quant, new long[] {dim, shape.ffn()}, random(seed, id[0]++, dim));
                w.tensor(p + "ffn_down.weight", quant, new long[] {shape.ffn(), dim}, random(seed, id[0]++, shape.ffn()));
                w.tensor(p + "ffn_up.weight", quant, new long[] {dim, shape.ffn()}, random(seed, id[0]++, dim));
            }
        }
        w.write(out);
    }

    /** llama.cpp's {@code general.file_type} of a model whose matrices are {@code t}. */
    private static int fileType(GGMLType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
        };
    }

    /** Uniform in ±1/sqrt(fanIn), from a hash of (seed, tensor, index). */
    private static GGUFWriter.Values random(long seed, int tensor, long fanIn) {
        float scale = (float) (1.0 / Math.sqrt(fanIn));
        long base = mix(seed * 0x9E3779B97F4A7C15L + tensor);
        return i -> {
            long z = mix(base + i * 0xD1B54A32D192ED03L);
            return (float) (((z >>> 40) * 0x1.0p-24) * 2 - 1) * scale;
        };
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * A SentencePiece-style vocabulary of exactly {@code size} entries: {@code <unk> <s> </s>},
     * the 256 byte tokens, printable ASCII with and without {@code ▁}, then letter pairs and
     * triples, scored so that longer pieces merge later.
     */
    static void vocabulary(GGUFWriter w, int size) {
        if (size < 3 + 256 + 2 * 95) {
            throw new IllegalArgumentException("a vocabulary needs at least " + (3 + 256 + 2 * 95) + " tokens");
        }
        Set<String> pieces = new LinkedHashSet<>();
        List<Integer> types = new ArrayList<>();
        pieces.add("<unk>");
        types.add(2);
        pieces.add("<s>");
        types.add(3);
        pieces.add("</s>");
        types.add(3);
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
            types.add(6);
        }
        for (char ch = ' '; ch <= '~'; ch++) {
            String s = ch == ' ' ? "\u2581" : String.valueOf(ch);
            if (pieces.add(s)) {
                types.add(1);
            }
            if (ch != ' ' && pieces.add("\u2581" + ch)) {
                types.add(1);
            }
        }
        String letters = "etaoinshrdlucmfwypvbgkjqxz";
        outer:
        for (int len = 2; len <= 4; len++) {
            int combos = (int) Math.pow(letters.length(), len);
            for (int k = 0; k < combos; k++) {
                StringBuilder sb = new StringBuilder();
                int v = k;
                for (int i = 0; i < len; i++) {
                    sb.append(letters.charAt(v % letters.length()));
                    v /= letters.length();
                }
                for (String s : new String[] {sb.toString(), "\u2581" + sb}) {
                    if (pieces.size() >= size) {
                        break outer;
                    }
                    if (pieces.add(s)) {
                        types.add(1);
                    }
                }
            }
        }
        String[] tokens = pieces.toArray(new String[0]);
        float[] scores = new float[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            scores[i] = types.get(i) == 1 ? -i : 0f;
        }
        w.string("tokenizer.ggml.model", "llama");
        w.strings("tokenizer.ggml.tokens", tokens);
        w.f32s("tokenizer.ggml.scores", scores);
        w.i32s("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray());
        w.u32("tokenizer.ggml.bos_token_id", 1);
        w.u32("tokenizer.ggml.eos_token_id", 2);
        w.u32("tokenizer.ggml.unknown_token_id", 0);
        w.bool("tokenizer.ggml.add_bos_token", true);
        w.bool("tokenizer.ggml.add_eos_token", false);
    }
}
