package org.halyard.engine.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelInfo;
import org.halyard.engine.api.ModelLoadException;
import org.halyard.engine.api.ModelSource;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.gguf.GGUFTensorInfo;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.model.Llama;
import org.halyard.engine.cpu.model.LlamaConfig;
import org.halyard.engine.cpu.model.LlamaTensors;
import org.halyard.engine.cpu.model.LlamaWeights;
import org.halyard.engine.cpu.model.TensorRef;
import org.halyard.engine.cpu.safetensors.SafetensorsFile;
import org.halyard.engine.cpu.tensor.FormatException;
import org.halyard.engine.cpu.tokenizer.Tokenizers;

/**
 * Loads a {@link ModelSource}: a GGUF file, or a Hugging Face checkpoint directory
 * ({@code config.json}, safetensors shards, {@code tokenizer.json}), with safetensors overlays
 * laid over the weights. Tensor data is copied from a mapping into the tensors' heap arrays (packed
 * in panels where the rows allow; see {@link org.halyard.engine.cpu.tensor.FloatTensor}). Everything
 * is checked before a model is returned; on failure nothing stays loaded (the arrays and mappings
 * become garbage).
 *
 * <p>Shards of a checkpoint directory: the {@code weights} file when the source names one; else
 * those listed in {@code model.safetensors.index.json}; else {@code model.safetensors}; else every
 * {@code *.safetensors} file.
 *
 * <p>{@link ModelInfo#version()} is {@code sha256:<hex>} over the contents of every file that
 * went into the model (weights, configuration, tokenizer, overlays, in order), so KV Cache++ never
 * serves keys computed by other weights.
 */
public final class ModelLoader {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelLoader() {
    }

    /** Loads a model whose steps run on {@code parallel}. */
    public static Model load(ModelSource source, Parallel parallel) throws ModelLoadException {
        Path path = source.path();
        try {
            if (Files.isDirectory(path)) {
                return loadHuggingFace(source, parallel);
            }
            if (!Files.exists(path)) {
                throw new ModelLoadException(path + ": no such file or directory");
            }
            if (GGUFFile.isGGUF(path)) {
                return loadGGUF(source, parallel);
            }
            if (path.getFileName().toString().endsWith(".safetensors")) {
                throw new ModelLoadException(path + ": a safetensors file alone is not a model; give the checkpoint "
                        + "directory (with config.json and tokenizer.json)");
            }
            throw new ModelLoadException(path + ": neither a GGUF file nor a checkpoint directory");
        } catch (ModelLoadException e) {
            throw e;
        } catch (IOException e) {
            throw new ModelLoadException(e.getMessage(), e);
        } catch (RuntimeException | OutOfMemoryError e) {
            throw new ModelLoadException(path + ": " + e, e);
        }
    }

    /** The tokenizer (and chat template) of a GGUF file, also a vocabulary-only one, or a checkpoint directory. */
    public static Tokenizers.Loaded loadTokenizer(Path path) throws ModelLoadException {
        try {
            if (Files.isDirectory(path)) {
                return Tokenizers.fromHuggingFace(path);
            }
            if (!GGUFFile.isGGUF(path)) {
                throw new ModelLoadException(path + ": neither a GGUF file nor a checkpoint directory");
            }
            return Tokenizers.fromGGUF(GGUFFile.read(path));
        } catch (IOException e) {
            throw new ModelLoadException(e.getMessage(), e);
        }
    }

    // ---- GGUF -------------------------------------------------------------------------------

    private static Model loadGGUF(ModelSource source, Parallel parallel) throws IOException, ModelLoadException {
        Path path = source.path();
        GGUFFile f = GGUFFile.read(path);
        if (f.tensorInfos().isEmpty()) {
            throw new ModelLoadException(path + ": the file has no tensors (a vocabulary-only GGUF file can "
                    + "tokenize but not generate)");
        }
        Tokenizers.Loaded tok = Tokenizers.fromGGUF(f);
        GGUFTensorInfo embd = f.tensorInfos().get("token_embd.weight");
        if (embd == null || embd.rank() != 2) {
            throw new FormatException(path + ": token_embd.weight is missing or not a matrix");
        }
        LlamaConfig config = LlamaTensors.configFromGGUF(f, Math.toIntExact(embd.dim(1)));
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        for (GGUFTensorInfo t : f.tensorInfos().values()) {
            long[] shape = t.dims();
            reverse(shape);
            tensors.put(t.name(), new TensorRef(f.tensor(t.name()), shape, path.toString()));
        }
        Map<String, String> meta = new TreeMap<>();
        for (Map.Entry<String, Object> e : f.metadata().entrySet()) {
            if (e.getKey().startsWith("general.") && (e.getValue() instanceof String s && s.length() <= 256
                    || e.getValue() instanceof Number)) {
                meta.put(e.getKey(), String.valueOf(e.getValue()));
            }
        }
        List<Path> files = new ArrayList<>(List.of(path));
        overlay(source, tensors, meta, files, true);
        LlamaWeights weights = LlamaTensors.weightsFromGGUF(tensors, config);
        return finish(source, "llama", "gguf", config, weights, tok, files, meta, parallel);
    }

    private static void reverse(long[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            long x = a[i];
            a[i] = a[j];
            a[j] = x;
        }
    }

    // ---- Hugging Face -----------------------------------------------------------------------

    private static Model loadHuggingFace(ModelSource source, Parallel parallel) throws IOException, ModelLoadException {
        Path dir = source.path();
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new ModelLoadException(dir + ": no config.json (not a Hugging Face checkpoint directory)");
        }
        JsonNode configJson = readJson(configFile);
        LlamaConfig config = LlamaTensors.configFromHuggingFace(configFile.toString(), configJson);
        Tokenizers.Loaded tok = Tokenizers.fromHuggingFace(dir);
        List<Path> shards = shards(source);
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new TreeMap<>();
        for (Path shard : shards) {
            SafetensorsFile st = SafetensorsFile.read(shard);
            for (SafetensorsFile.Entry e : st.entries().values()) {
                if (tensors.containsKey(e.name())) {
                    throw new FormatException(shard + ": tensor " + e.name() + " is also in "
                            + tensors.get(e.name()).source());
                }
                tensors.put(e.name(), new TensorRef(st.tensor(e.name()), e.shape(), shard.toString()));
            }
            st.metadata().forEach((k, v) -> {
                if (!k.equals("format") && v.length() <= 256) {
                    meta.put("weights." + k, v);
                }
            });
        }
        List<Path> files = new ArrayList<>();
        files.add(configFile);
        for (String name : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            if (Files.isRegularFile(dir.resolve(name))) {
                files.add(dir.resolve(name));
            }
        }
        files.addAll(shards);
        overlay(source, tensors, meta, files, false);
        LlamaWeights weights = LlamaTensors.weightsFromHuggingFace(tensors, config,
                LlamaTensors.tiedInHuggingFace(configJson));
        String arch = configJson.path("model_type").asText("llama");
        return finish(source, arch, "safetensors", config, weights, tok, files, meta, parallel);
    }

    private static List<Path> shards(ModelSource source) throws IOException {
        Path dir = source.path();
        if (source.weights() != null) {
            Path w = source.weights().isAbsolute() ? source.weights() : dir.resolve(source.weights());
            if (!Files.isRegularFile(w)) {
                throw new FormatException(w + ": the weights file does not exist");
            }
            return List.of(w);
        }
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            JsonNode map = readJson(index).path("weight_map");
            if (!map.isObject()) {
                throw new FormatException(index + ": no weight_map");
            }
            List<Path> out = new ArrayList<>();
            for (JsonNode f : map) {
                Path p = dir.resolve(f.asText()).normalize();
                if (!p.startsWith(dir.normalize())) {
                    throw new FormatException(index + ": shard " + f.asText() + " is outside the checkpoint directory");
                }
                if (!out.contains(p)) {
                    out.add(p);
                }
            }
            return out;
        }
        if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
            return List.of(dir.resolve("model.safetensors"));
        }
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> all = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            if (all.isEmpty()) {
                throw new FormatException(dir + ": no *.safetensors weights");
            }
            return all;
        }
    }

    // ---- overlays -----------------------------------------------------------------------------

    /**
     * Lays safetensors overlays over the tensors: each overlay tensor replaces the tensor of the
     * same name (Hugging Face names are translated for GGUF models), which must exist and have the
     * same shape.
     */
    private static void overlay(ModelSource source, Map<String, TensorRef> tensors, Map<String, String> meta,
            List<Path> files, boolean gguf) throws IOException {
        for (Path o : source.overlays()) {
            Path p = o.isAbsolute() || !Files.isDirectory(source.path()) ? o : source.path().resolve(o);
            if (!Files.isRegularFile(p)) {
                throw new FormatException(p + ": overlay file does not exist");
            }
            SafetensorsFile st = SafetensorsFile.read(p);
            for (SafetensorsFile.Entry e : st.entries().values()) {
                String name = e.name();
                if (gguf && !tensors.containsKey(name)) {
                    String mapped = LlamaTensors.ggufName(name);
                    if (mapped == null) {
                        throw new FormatException(p + ": tensor " + name + " cannot be laid over a GGUF model"
                                + (name.contains("q_proj") || name.contains("k_proj")
                                        ? " (Q/K head layouts differ between the formats)" : ""));
                    }
                    name = mapped;
                }
                TensorRef base = tensors.get(name);
                if (base == null) {
                    throw new FormatException(p + ": overlay tensor " + e.name() + " is not in the model");
                }
                TensorRef replacement = new TensorRef(st.tensor(e.name()), e.shape(), p.toString());
                if (!replacement.sameShape(base)) {
                    throw new FormatException(p + ": overlay tensor " + e.name() + " has shape "
                            + java.util.Arrays.toString(e.shape()) + ", the model's is "
                            + java.util.Arrays.toString(base.shape()));
                }
                tensors.put(name, replacement);
            }
            String file = p.getFileName().toString();
            st.metadata().forEach((k, v) -> {
                if (!k.equals("format") && v.length() <= 256) {
                    meta.put("overlay." + file + "." + k, v);
                }
            });
            files.add(p);
        }
    }

    // ---- the model ----------------------------------------------------------------------------

    private static Model finish(ModelSource source, String arch, String format, LlamaConfig config,
            LlamaWeights weights, Tokenizers.Loaded tok, List<Path> files, Map<String, String> meta, Parallel parallel)
            throws IOException, ModelLoadException {
        Llama llama;
        try {
            llama = new Llama(config, weights);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(source.path() + ": " + e.getMessage());
        }
        if (tok.tokenizer().vocabSize() > config.vocabSize()) {
            throw new ModelLoadException(source.path() + ": the tokenizer has " + tok.tokenizer().vocabSize()
                    + " tokens, the model's output head " + config.vocabSize());
        }
        ModelInfo info = new ModelInfo(source.name(), digest(files), arch, format, weightType(weights),
                config.contextLength(), config.vocabSize(), config.layers(), config.dim(), config.heads(),
                config.kvHeads(), config.headDim(), config.experts(), config.expertsUsed(), weights.parameters(),
                weights.bytes(), meta);
        return new CpuModel(info, tok.tokenizer(), tok.chatTemplate(), llama, parallel);
    }

    /** The encoding of most weight bytes (of the attention and feed-forward matrices). */
    private static String weightType(LlamaWeights w) {
        Map<String, Long> bytes = new LinkedHashMap<>();
        for (LlamaWeights.Layer l : w.layers()) {
            for (var m : List.of(l.wq(), l.wk(), l.wv(), l.wo())) {
                bytes.merge(m.tensor().type().name(), (long) m.rows() * m.cols(), Long::sum);
            }
            for (int e = 0; e < l.gate().length; e++) {
                for (var m : List.of(l.gate()[e], l.up()[e], l.down()[e])) {
                    bytes.merge(m.tensor().type().name(), (long) m.rows() * m.cols(), Long::sum);
                }
            }
        }
        return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse("F32");
    }

    /** {@code sha256:<hex>} over the files' lengths and contents, in order. */
    static String digest(List<Path> files) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        ByteBuffer len = ByteBuffer.allocate(8);
        for (Path f : files) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                len.clear();
                len.putLong(ch.size()).flip();
                md.update(len);
                while (ch.read(buf.clear()) > 0) {
                    md.update(buf.flip());
                }
            }
        }
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    private static JsonNode readJson(Path file) throws IOException {
        if (Files.size(file) > (64L << 20)) {
            throw new FormatException(file + ": too large for a JSON file");
        }
        try {
            return JSON.readTree(Files.readString(file, java.nio.charset.StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new FormatException(file + ": not valid JSON: " + e.getOriginalMessage());
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new FormatException(file + ": not UTF-8 text");
        }
    }
}
