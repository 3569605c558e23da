package org.halyard.engine.cpu.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.halyard.engine.api.Tokenizer;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.tensor.FormatException;

/**
 * Builds tokenizers from a GGUF file's metadata alone (so vocabulary-only GGUF files work) or
 * from a Hugging Face {@code tokenizer.json} with {@code tokenizer_config.json}.
 *
 * <table>
 *   <caption>kinds</caption>
 *   <tr><td>GGUF {@code tokenizer.ggml.model = llama}</td><td>SentencePiece-style BPE by scores, byte fallback</td></tr>
 *   <tr><td>GGUF {@code gpt2}</td><td>byte-level BPE by merges, pre-tokenizer from {@code tokenizer.ggml.pre}</td></tr>
 *   <tr><td>tokenizer.json BPE without ByteLevel</td><td>SentencePiece-style BPE by merges ({@code ▁} normaliser or Metaspace)</td></tr>
 *   <tr><td>tokenizer.json BPE with ByteLevel</td><td>byte-level BPE with its Split/Digits/ByteLevel regexes</td></tr>
 * </table>
 */
public final class Tokenizers {

    /** Largest vocabulary accepted. */
    static final int MAX_VOCAB = 1 << 24;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A tokenizer and the chat template found beside it. */
    public record Loaded(Tokenizer tokenizer, Optional<String> chatTemplate) {
    }

    private Tokenizers() {
    }

    /** The tokenizer a GGUF file's metadata describes. */
    public static Loaded fromGGUF(GGUFFile f) throws FormatException {
        Path p = f.path();
        String model = f.string("tokenizer.ggml.model");
        if (model == null) {
            throw new FormatException(p + ": no tokenizer (tokenizer.ggml.model missing)");
        }
        String[] tokens = f.array("tokenizer.ggml.tokens", String[].class);
        if (tokens == null || tokens.length == 0) {
            throw new FormatException(p + ": no vocabulary (tokenizer.ggml.tokens missing or empty)");
        }
        int n = tokens.length;
        float[] scores = f.array("tokenizer.ggml.scores", float[].class);
        if (scores != null && scores.length != n) {
            throw new FormatException(p + ": tokenizer.ggml.scores has " + scores.length + " entries for " + n + " tokens");
        }
        int[] types = f.array("tokenizer.ggml.token_type", int[].class);
        if (types != null && types.length != n) {
            throw new FormatException(p + ": tokenizer.ggml.token_type has " + types.length + " entries for " + n + " tokens");
        }
        types = types == null ? filled(n, TokenType.NORMAL) : types.clone();
        for (int i = 0; i < n; i++) {
            if (types[i] < 0 || types[i] > TokenType.BYTE) {
                types[i] = TokenType.NORMAL;
            }
        }
        int bos = tokenId(f, "tokenizer.ggml.bos_token_id", n);
        int unk = tokenId(f, "tokenizer.ggml.unknown_token_id", n);
        Set<Integer> eos = new LinkedHashSet<>();
        for (String key : List.of("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                "tokenizer.ggml.eom_token_id")) {
            int id = tokenId(f, key, n);
            if (id >= 0) {
                eos.add(id);
            }
        }
        for (int id : new int[] {bos, unk}) {
            if (id >= 0 && types[id] == TokenType.NORMAL) {
                types[id] = TokenType.CONTROL;
            }
        }
        for (int id : eos) {
            if (types[id] == TokenType.NORMAL) {
                types[id] = TokenType.CONTROL;
            }
        }
        int[] eosIds = eos.stream().mapToInt(Integer::intValue).toArray();
        Optional<String> template = Optional.ofNullable(f.string("tokenizer.chat_template"));
        switch (model) {
            case "llama" -> {
                boolean addBos = f.bool("tokenizer.ggml.add_bos_token", true);
                boolean spacePrefix = f.bool("tokenizer.ggml.add_space_prefix", true);
                return new Loaded(new SentencePieceTokenizer(tokens, types, scores == null ? new float[n] : scores,
                        null, spacePrefix, bos, eosIds, addBos, unk), template);
            }
            case "gpt2" -> {
                String[] merges = f.array("tokenizer.ggml.merges", String[].class);
                if (merges == null) {
                    throw new FormatException(p + ": a gpt2 (byte-level BPE) vocabulary needs tokenizer.ggml.merges");
                }
                boolean addBos = f.bool("tokenizer.ggml.add_bos_token", false);
                PreTokenizer pre = PreTokenizer.forGGUF(f.string("tokenizer.ggml.pre"));
                return new Loaded(new ByteLevelBpeTokenizer(tokens, types, ranks(Arrays.asList(merges)), pre,
                        f.bool("tokenizer.ggml.add_space_prefix", false), false, false, bos, eosIds, addBos, unk),
                        template);
            }
            default -> throw new FormatException(p + ": tokenizer model '" + model
                    + "' is not supported (supported: llama, gpt2)");
        }
    }

    private static int tokenId(GGUFFile f, String key, int n) throws FormatException {
        long id = f.integer(key, -1);
        if (id >= n || id < -1) {
            throw new FormatException(f.path() + ": " + key + " = " + id + " is not in the vocabulary of " + n);
        }
        return (int) id;
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static Map<String, Integer> ranks(List<String> merges) {
        Map<String, Integer> ranks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) {
            ranks.putIfAbsent(merges.get(i), i);
        }
        return ranks;
    }

    /**
     * The tokenizer of a Hugging Face checkpoint directory: {@code tokenizer.json}, with BOS/EOS,
     * {@code add_bos_token} and the chat template from {@code tokenizer_config.json} (and
     * {@code config.json} / {@code generation_config.json} for ids it does not give).
     */
    public static Loaded fromHuggingFace(Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new FormatException(dir + ": no tokenizer.json");
        }
        JsonNode root = readJson(file);
        JsonNode config = readJsonIfPresent(dir.resolve("tokenizer_config.json"));
        JsonNode modelConfig = readJsonIfPresent(dir.resolve("config.json"));
        JsonNode generation = readJsonIfPresent(dir.resolve("generation_config.json"));
        return fromHuggingFace(file, root, config, modelConfig, generation);
    }

    /** Parses tokenizer.json content (for tests and fuzzing). */
    public static Loaded fromHuggingFaceJson(Path name, byte[] tokenizerJson, byte[] tokenizerConfigJson)
            throws FormatException {
        JsonNode root = parse(name, tokenizerJson);
        JsonNode config = tokenizerConfigJson == null ? null : parse(name, tokenizerConfigJson);
        return fromHuggingFace(name, root, config, null, null);
    }

    private static Loaded fromHuggingFace(Path file, JsonNode root, JsonNode config, JsonNode modelConfig,
            JsonNode generation) throws FormatException {
        if (!root.isObject()) {
            throw new FormatException(file + ": not a JSON object");
        }
        JsonNode model = root.path("model");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE") || !model.path("vocab").isObject()) {
            throw new FormatException(file + ": tokenizer model " + type
                    + " is not supported (BPE with a vocab object is)");
        }
        // vocabulary: the model's vocab plus added tokens, by id
        Map<Integer, String> byId = new HashMap<>();
        int size = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = model.get("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = vocabId(file, e.getKey(), e.getValue());
            byId.put(id, e.getKey());
            size = Math.max(size, id + 1);
        }
        Map<Integer, Boolean> added = new HashMap<>();
        for (JsonNode a : root.path("added_tokens")) {
            int id = vocabId(file, a.path("content").asText(), a.path("id"));
            if (!a.path("content").isTextual() || a.path("content").asText().isEmpty()) {
                throw new FormatException(file + ": added token " + id + " has no content");
            }
            byId.put(id, a.get("content").asText());
            added.put(id, a.path("special").asBoolean(false));
            size = Math.max(size, id + 1);
        }
        if (size == 0) {
            throw new FormatException(file + ": empty vocabulary");
        }
        String[] tokens = new String[size];
        int[] types = new int[size];
        for (int i = 0; i < size; i++) {
            String t = byId.get(i);
            tokens[i] = t == null ? "<unused" + i + ">" : t;
            types[i] = t == null ? TokenType.UNUSED
                    : added.containsKey(i) ? (added.get(i) ? TokenType.CONTROL : TokenType.USER_DEFINED)
                    : TokenType.NORMAL;
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            if (m.isTextual()) {
                merges.add(m.asText());
            } else if (m.isArray() && m.size() == 2) {
                merges.add(m.get(0).asText() + " " + m.get(1).asText());
            } else {
                throw new FormatException(file + ": merge " + m + " is neither \"a b\" nor [a, b]");
            }
        }
        Map<String, Integer> ranks = ranks(merges);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < size; i++) {
            ids.putIfAbsent(tokens[i], i);
        }
        int unk = model.path("unk_token").isTextual() ? ids.getOrDefault(model.get("unk_token").asText(), -1) : -1;

        // special tokens and BOS
        int bos = specialId(config, "bos_token", ids);
        if (bos < 0) {
            bos = intOr(modelConfig, "bos_token_id", -1, size);
        }
        Set<Integer> eos = new LinkedHashSet<>();
        int e0 = specialId(config, "eos_token", ids);
        if (e0 >= 0) {
            eos.add(e0);
        }
        addIds(modelConfig, "eos_token_id", eos, size);
        addIds(generation, "eos_token_id", eos, size);
        Boolean addBos = config != null && config.has("add_bos_token") ? config.get("add_bos_token").asBoolean() : null;
        JsonNode single = root.path("post_processor").path("single");
        if (single.isMissingNode()) {
            for (JsonNode pp : root.path("post_processor").path("processors")) {
                if (pp.has("single")) {
                    single = pp.get("single");
                }
            }
        }
        if (single.isArray() && single.size() > 0 && single.get(0).has("SpecialToken")) {
            String first = single.get(0).get("SpecialToken").path("id").asText();
            Integer id = ids.get(first);
            if (id != null) {
                if (bos < 0) {
                    bos = id;
                }
                if (addBos == null) {
                    addBos = id == bos;
                }
            }
        }
        if (addBos == null) {
            addBos = false;
        }
        int[] eosIds = eos.stream().mapToInt(Integer::intValue).toArray();
        Optional<String> template = chatTemplate(config);

        // byte-level or SentencePiece-style, from the pre-tokenizer and normaliser
        List<JsonNode> preSteps = flatten(root.path("pre_tokenizer"), "pretokenizers");
        List<JsonNode> normalizers = flatten(root.path("normalizer"), "normalizers");
        boolean byteLevel = preSteps.stream().anyMatch(s -> s.path("type").asText().equals("ByteLevel"));
        boolean nfc = normalizers.stream().anyMatch(s -> s.path("type").asText().equals("NFC"));
        if (byteLevel) {
            List<String> regexes = new ArrayList<>();
            boolean addPrefixSpace = false;
            for (JsonNode s : preSteps) {
                switch (s.path("type").asText()) {
                    case "Split" -> {
                        JsonNode pattern = s.path("pattern");
                        if (pattern.has("Regex")) {
                            String known = PreTokenizer.known(pattern.get("Regex").asText());
                            if (known == null) {
                                throw new FormatException(file + ": pre-tokenizer regex "
                                        + abbreviate(pattern.get("Regex").asText())
                                        + " is not one this engine knows (GPT-2, Llama 3, Qwen2, digits)");
                            }
                            regexes.add(known);
                        } else if (pattern.has("String")) {
                            regexes.add(java.util.regex.Pattern.quote(pattern.get("String").asText()));
                        }
                    }
                    case "Digits" -> regexes.add(s.path("individual_digits").asBoolean(false)
                            ? PreTokenizer.DIGITS : "\\p{N}+");
                    case "ByteLevel" -> {
                        addPrefixSpace = s.path("add_prefix_space").asBoolean(false);
                        if (s.path("use_regex").asBoolean(true)) {
                            regexes.add(PreTokenizer.GPT2);
                        }
                    }
                    default -> {
                        // Whitespace, Punctuation ... are not used by these model families
                    }
                }
            }
            PreTokenizer pre = new PreTokenizer("tokenizer.json", regexes);
            return new Loaded(new ByteLevelBpeTokenizer(tokens, types, ranks, pre, addPrefixSpace,
                    model.path("ignore_merges").asBoolean(false), nfc, bos, eosIds, addBos, unk), template);
        }
        boolean spacePrefix = normalizers.stream().anyMatch(s -> s.path("type").asText().equals("Prepend"))
                || preSteps.stream().anyMatch(s -> s.path("type").asText().equals("Metaspace")
                        && !s.path("prepend_scheme").asText("always").equals("never")
                        && s.path("add_prefix_space").asBoolean(true));
        return new Loaded(new SentencePieceTokenizer(tokens, types, null, ranks, spacePrefix, bos, eosIds, addBos,
                unk), template);
    }

    private static int vocabId(Path file, String token, JsonNode id) throws FormatException {
        if (!id.isIntegralNumber() || id.asLong() < 0 || id.asLong() >= MAX_VOCAB) {
            throw new FormatException(file + ": token " + abbreviate(token) + " has id " + id
                    + " (ids must be integers in [0, " + MAX_VOCAB + "))");
        }
        return id.asInt();
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private static List<JsonNode> flatten(JsonNode node, String listField) {
        List<JsonNode> out = new ArrayList<>();
        if (node == null || node.isNull() || node.isMissingNode()) {
            return out;
        }
        if (node.path("type").asText().equals("Sequence")) {
            for (JsonNode n : node.path(listField)) {
                out.addAll(flatten(n, listField));
            }
        } else {
            out.add(node);
        }
        return out;
    }

    private static int specialId(JsonNode config, String field, Map<String, Integer> ids) {
        if (config == null) {
            return -1;
        }
        JsonNode t = config.path(field);
        String text = t.isTextual() ? t.asText() : t.path("content").isTextual() ? t.path("content").asText() : null;
        if (text == null) {
            return -1;
        }
        return ids.getOrDefault(text, -1);
    }

    private static int intOr(JsonNode node, String field, int dflt, int size) {
        if (node == null || !node.path(field).isIntegralNumber()) {
            return dflt;
        }
        int v = node.get(field).asInt();
        return v >= 0 && v < size ? v : dflt;
    }

    private static void addIds(JsonNode node, String field, Set<Integer> out, int size) {
        if (node == null) {
            return;
        }
        JsonNode v = node.path(field);
        if (v.isIntegralNumber() && v.asInt() >= 0 && v.asInt() < size) {
            out.add(v.asInt());
        } else if (v.isArray()) {
            for (JsonNode x : v) {
                if (x.isIntegralNumber() && x.asInt() >= 0 && x.asInt() < size) {
                    out.add(x.asInt());
                }
            }
        }
    }

    private static Optional<String> chatTemplate(JsonNode config) {
        if (config == null) {
            return Optional.empty();
        }
        JsonNode t = config.path("chat_template");
        if (t.isTextual()) {
            return Optional.of(t.asText());
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if (named.path("name").asText().equals("default") && named.path("template").isTextual()) {
                    return Optional.of(named.get("template").asText());
                }
            }
        }
        return Optional.empty();
    }

    static JsonNode readJson(Path file) throws IOException {
        long size = Files.size(file);
        if (size > (512L << 20)) {
            throw new FormatException(file + ": " + size + " bytes is too large for a JSON file");
        }
        return parse(file, Files.readAllBytes(file));
    }

    private static JsonNode readJsonIfPresent(Path file) throws IOException {
        return Files.isRegularFile(file) ? readJson(file) : null;
    }

    private static JsonNode parse(Path file, byte[] json) throws FormatException {
        try {
            JsonNode n = JSON.readTree(new String(json, java.nio.charset.StandardCharsets.UTF_8));
            if (n == null || n.isMissingNode()) {
                throw new FormatException(file + ": empty JSON");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new FormatException(file + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new FormatException(file + ": " + e.getMessage());
        }
    }
}
