package org.halyard.engine.cpu.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.Map;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.tensor.FormatException;
import org.halyard.engine.cpu.tensor.Matrix;

/**
 * Where a Llama-family model's hyper-parameters and tensors are in GGUF files and in Hugging Face
 * checkpoints, and how the two namings map onto {@link LlamaConfig} and {@link LlamaWeights}.
 *
 * <pre>
 *   GGUF                          Hugging Face (Llama / Mixtral)
 *   token_embd.weight             model.embed_tokens.weight
 *   blk.N.attn_norm.weight        model.layers.N.input_layernorm.weight
 *   blk.N.attn_q/k/v.weight       model.layers.N.self_attn.q_proj/k_proj/v_proj.weight   (rotate-half Q/K)
 *   blk.N.attn_output.weight      model.layers.N.self_attn.o_proj.weight
 *   blk.N.ffn_norm.weight         model.layers.N.post_attention_layernorm.weight
 *   blk.N.ffn_gate/up/down.weight model.layers.N.mlp.gate_proj/up_proj/down_proj.weight
 *   blk.N.ffn_gate_inp.weight     model.layers.N.block_sparse_moe.gate.weight
 *   blk.N.ffn_gate_exps.weight    model.layers.N.block_sparse_moe.experts.E.w1.weight   (GGUF: stacked [E][ffn][dim])
 *   blk.N.ffn_up_exps.weight      model.layers.N.block_sparse_moe.experts.E.w3.weight
 *   blk.N.ffn_down_exps.weight    model.layers.N.block_sparse_moe.experts.E.w2.weight
 *   output_norm.weight            model.norm.weight
 *   output.weight (or tied)       lm_head.weight (or tied)
 * </pre>
 */
public final class LlamaTensors {

    private LlamaTensors() {
    }

    // ---- configuration ---------------------------------------------------------------------

    /** The configuration from GGUF metadata ({@code general.architecture} must be {@code llama}). */
    public static LlamaConfig configFromGGUF(GGUFFile f, int vocabSize) throws FormatException {
        String arch = f.string("general.architecture");
        if (arch == null) {
            throw new FormatException(f.path() + ": general.architecture is missing");
        }
        if (!arch.equals("llama")) {
            throw new FormatException(f.path() + ": architecture '" + arch + "' is not supported (llama is)");
        }
        String scaling = f.string(arch + ".rope.scaling.type");
        if (scaling != null && !scaling.equals("none")
                && !(scaling.equals("linear") && f.number(arch + ".rope.scaling.factor", 1) == 1)) {
            throw new FormatException(f.path() + ": RoPE scaling '" + scaling + "' is not supported");
        }
        int dim = positive(f, arch + ".embedding_length", -1);
        int heads = positive(f, arch + ".attention.head_count", -1);
        int headDim = positive(f, arch + ".attention.key_length", dim / Math.max(1, heads));
        try {
            return new LlamaConfig(dim, positive(f, arch + ".block_count", -1), heads,
                    positive(f, arch + ".attention.head_count_kv", heads), headDim,
                    positive(f, arch + ".feed_forward_length", -1), vocabSize,
                    positive(f, arch + ".context_length", 2048),
                    (float) f.number(arch + ".attention.layer_norm_rms_epsilon", 1e-5),
                    (float) f.number(arch + ".rope.freq_base", 10000.0),
                    positive(f, arch + ".rope.dimension_count", headDim), LlamaConfig.RopeLayout.ADJACENT,
                    (int) nonNegative(f, arch + ".expert_count"), (int) nonNegative(f, arch + ".expert_used_count"));
        } catch (IllegalArgumentException e) {
            throw new FormatException(f.path() + ": " + e.getMessage());
        }
    }

    private static int positive(GGUFFile f, String key, long dflt) throws FormatException {
        long v = f.integer(key, dflt);
        if (v <= 0 || v > (1 << 24)) {
            throw new FormatException(f.path() + ": " + key + (v == -1 && !f.metadata().containsKey(key)
                    ? " is missing" : " = " + v + " is out of range"));
        }
        return (int) v;
    }

    private static long nonNegative(GGUFFile f, String key) throws FormatException {
        long v = f.integer(key, 0);
        if (v < 0 || v > 4096) {
            throw new FormatException(f.path() + ": " + key + " = " + v + " is out of range");
        }
        return v;
    }

    /** The configuration from a Hugging Face {@code config.json} (Llama, Mistral, Mixtral). */
    public static LlamaConfig configFromHuggingFace(String file, JsonNode c) throws FormatException {
        String arch = c.path("architectures").path(0).asText(c.path("model_type").asText(""));
        if (!(arch.equals("LlamaForCausalLM") || arch.equals("MistralForCausalLM") || arch.equals("MixtralForCausalLM")
                || arch.equals("llama") || arch.equals("mistral") || arch.equals("mixtral"))) {
            throw new FormatException(file + ": architecture '" + arch
                    + "' is not supported (LlamaForCausalLM, MistralForCausalLM, MixtralForCausalLM are)");
        }
        JsonNode scaling = c.path("rope_scaling");
        if (!scaling.isMissingNode() && !scaling.isNull()) {
            throw new FormatException(file + ": rope_scaling " + scaling + " is not supported");
        }
        int dim = intField(file, c, "hidden_size", -1);
        int heads = intField(file, c, "num_attention_heads", -1);
        int headDim = c.path("head_dim").isIntegralNumber() ? intField(file, c, "head_dim", -1) : dim / heads;
        try {
            return new LlamaConfig(dim, intField(file, c, "num_hidden_layers", -1), heads,
                    intField(file, c, "num_key_value_heads", heads), headDim,
                    intField(file, c, "intermediate_size", -1), intField(file, c, "vocab_size", -1),
                    intField(file, c, "max_position_embeddings", 2048),
                    (float) c.path("rms_norm_eps").asDouble(1e-6), (float) c.path("rope_theta").asDouble(10000.0),
                    headDim, LlamaConfig.RopeLayout.HALF, c.path("num_local_experts").asInt(0),
                    c.path("num_local_experts").asInt(0) > 0 ? c.path("num_experts_per_tok").asInt(2) : 0);
        } catch (IllegalArgumentException e) {
            throw new FormatException(file + ": " + e.getMessage());
        }
    }

    private static int intField(String file, JsonNode c, String field, int dflt) throws FormatException {
        JsonNode v = c.path(field);
        if (v.isMissingNode() || v.isNull()) {
            if (dflt < 0) {
                throw new FormatException(file + ": " + field + " is missing");
            }
            return dflt;
        }
        if (!v.isIntegralNumber() || v.asLong() <= 0 || v.asLong() > (1 << 24)) {
            throw new FormatException(file + ": " + field + " = " + v + " is out of range");
        }
        return v.asInt();
    }

    /** Whether a Hugging Face config ties the output head to the embedding. */
    public static boolean tiedInHuggingFace(JsonNode c) {
        return c.path("tie_word_embeddings").asBoolean(false);
    }

    // ---- weights ----------------------------------------------------------------------------

    /** The weights from GGUF-named tensors. */
    public static LlamaWeights weightsFromGGUF(Map<String, TensorRef> t, LlamaConfig c) throws FormatException {
        int dim = c.dim();
        Matrix embedding = matrix(t, "token_embd.weight", c.vocabSize(), dim);
        boolean tied = !t.containsKey("output.weight");
        Matrix output = tied ? embedding : matrix(t, "output.weight", c.vocabSize(), dim);
        LlamaWeights.Layer[] layers = new LlamaWeights.Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            Matrix router = null;
            Matrix[] gate;
            Matrix[] up;
            Matrix[] down;
            if (c.moe()) {
                router = matrix(t, p + "ffn_gate_inp.weight", c.experts(), dim);
                gate = new Matrix[c.experts()];
                up = new Matrix[c.experts()];
                down = new Matrix[c.experts()];
                boolean stacked = t.containsKey(p + "ffn_gate_exps.weight");
                for (int e = 0; e < c.experts(); e++) {
                    if (stacked) {
                        gate[e] = expert(t, p + "ffn_gate_exps.weight", e, c.experts(), c.ffnDim(), dim);
                        up[e] = expert(t, p + "ffn_up_exps.weight", e, c.experts(), c.ffnDim(), dim);
                        down[e] = expert(t, p + "ffn_down_exps.weight", e, c.experts(), dim, c.ffnDim());
                    } else { // older files: one tensor per expert
                        gate[e] = matrix(t, p + "ffn_gate." + e + ".weight", c.ffnDim(), dim);
                        up[e] = matrix(t, p + "ffn_up." + e + ".weight", c.ffnDim(), dim);
                        down[e] = matrix(t, p + "ffn_down." + e + ".weight", dim, c.ffnDim());
                    }
                }
            } else {
                gate = new Matrix[] {matrix(t, p + "ffn_gate.weight", c.ffnDim(), dim)};
                up = new Matrix[] {matrix(t, p + "ffn_up.weight", c.ffnDim(), dim)};
                down = new Matrix[] {matrix(t, p + "ffn_down.weight", dim, c.ffnDim())};
            }
            layers[i] = new LlamaWeights.Layer(vector(t, p + "attn_norm.weight", dim),
                    matrix(t, p + "attn_q.weight", c.qDim(), dim), matrix(t, p + "attn_k.weight", c.kvDim(), dim),
                    matrix(t, p + "attn_v.weight", c.kvDim(), dim), matrix(t, p + "attn_output.weight", dim, c.qDim()),
                    vector(t, p + "ffn_norm.weight", dim), router, gate, up, down);
        }
        return new LlamaWeights(embedding, layers, vector(t, "output_norm.weight", dim), output, tied);
    }

    /** The weights from Hugging Face-named tensors. */
    public static LlamaWeights weightsFromHuggingFace(Map<String, TensorRef> t, LlamaConfig c, boolean tiedConfig)
            throws FormatException {
        int dim = c.dim();
        Matrix embedding = matrix(t, "model.embed_tokens.weight", c.vocabSize(), dim);
        boolean tied = tiedConfig || !t.containsKey("lm_head.weight");
        Matrix output = tied ? embedding : matrix(t, "lm_head.weight", c.vocabSize(), dim);
        LlamaWeights.Layer[] layers = new LlamaWeights.Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "model.layers." + i + ".";
            Matrix router = null;
            Matrix[] gate;
            Matrix[] up;
            Matrix[] down;
            if (c.moe()) {
                String m = p + "block_sparse_moe.";
                router = matrix(t, m + "gate.weight", c.experts(), dim);
                gate = new Matrix[c.experts()];
                up = new Matrix[c.experts()];
                down = new Matrix[c.experts()];
                for (int e = 0; e < c.experts(); e++) {
                    gate[e] = matrix(t, m + "experts." + e + ".w1.weight", c.ffnDim(), dim);
                    up[e] = matrix(t, m + "experts." + e + ".w3.weight", c.ffnDim(), dim);
                    down[e] = matrix(t, m + "experts." + e + ".w2.weight", dim, c.ffnDim());
                }
            } else {
                gate = new Matrix[] {matrix(t, p + "mlp.gate_proj.weight", c.ffnDim(), dim)};
                up = new Matrix[] {matrix(t, p + "mlp.up_proj.weight", c.ffnDim(), dim)};
                down = new Matrix[] {matrix(t, p + "mlp.down_proj.weight", dim, c.ffnDim())};
            }
            layers[i] = new LlamaWeights.Layer(vector(t, p + "input_layernorm.weight", dim),
                    matrix(t, p + "self_attn.q_proj.weight", c.qDim(), dim),
                    matrix(t, p + "self_attn.k_proj.weight", c.kvDim(), dim),
                    matrix(t, p + "self_attn.v_proj.weight", c.kvDim(), dim),
                    matrix(t, p + "self_attn.o_proj.weight", dim, c.qDim()),
                    vector(t, p + "post_attention_layernorm.weight", dim), router, gate, up, down);
        }
        return new LlamaWeights(embedding, layers, vector(t, "model.norm.weight", dim), output, tied);
    }

    /**
     * The GGUF name of a Hugging Face tensor, for laying a safetensors overlay over a GGUF model;
     * null when there is none. Q and K projections have none: their head layout differs between
     * the formats (rotate-half vs adjacent pairs).
     */
    public static String ggufName(String hfName) {
        if (hfName.equals("model.embed_tokens.weight")) {
            return "token_embd.weight";
        }
        if (hfName.equals("model.norm.weight")) {
            return "output_norm.weight";
        }
        if (hfName.equals("lm_head.weight")) {
            return "output.weight";
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)").matcher(hfName);
        if (!m.matches()) {
            return null;
        }
        String rest = switch (m.group(2)) {
            case "input_layernorm.weight" -> "attn_norm.weight";
            case "post_attention_layernorm.weight" -> "ffn_norm.weight";
            case "self_attn.v_proj.weight" -> "attn_v.weight";
            case "self_attn.o_proj.weight" -> "attn_output.weight";
            case "mlp.gate_proj.weight" -> "ffn_gate.weight";
            case "mlp.up_proj.weight" -> "ffn_up.weight";
            case "mlp.down_proj.weight" -> "ffn_down.weight";
            case "block_sparse_moe.gate.weight" -> "ffn_gate_inp.weight";
            default -> null;
        };
        return rest == null ? null : "blk." + m.group(1) + "." + rest;
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static TensorRef get(Map<String, TensorRef> t, String name) throws FormatException {
        TensorRef r = t.get(name);
        if (r == null) {
            throw new FormatException("missing tensor " + name);
        }
        return r;
    }

    static Matrix matrix(Map<String, TensorRef> t, String name, int rows, int cols) throws FormatException {
        TensorRef r = get(t, name);
        long[] s = r.shape();
        if (s.length != 2 || s[0] != rows || s[1] != cols) {
            throw new FormatException(r.source() + ": tensor " + name + " has shape " + Arrays.toString(s) + ", ["
                    + rows + ", " + cols + "] expected");
        }
        try {
            return Matrix.of(r.tensor(), rows, cols);
        } catch (IllegalArgumentException e) {
            throw new FormatException(r.source() + ": tensor " + name + ": " + e.getMessage());
        }
    }

    private static Matrix expert(Map<String, TensorRef> t, String name, int e, int experts, int rows, int cols)
            throws FormatException {
        TensorRef r = get(t, name);
        long[] s = r.shape();
        if (s.length != 3 || s[0] != experts || s[1] != rows || s[2] != cols) {
            throw new FormatException(r.source() + ": tensor " + name + " has shape " + Arrays.toString(s) + ", ["
                    + experts + ", " + rows + ", " + cols + "] expected");
        }
        return new Matrix(r.tensor(), (long) e * rows * cols, rows, cols);
    }

    static float[] vector(Map<String, TensorRef> t, String name, int n) throws FormatException {
        TensorRef r = get(t, name);
        long[] s = r.shape();
        if (s.length != 1 || s[0] != n) {
            throw new FormatException(r.source() + ": tensor " + name + " has shape " + Arrays.toString(s) + ", [" + n
                    + "] expected");
        }
        return LlamaWeights.toArray(r.tensor());
    }
}
