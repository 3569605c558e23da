package org.halyard.engine.cpu.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.halyard.engine.api.StreamDecoder;
import org.halyard.engine.api.Tokenizer;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.gguf.GGUFWriter;
import org.halyard.engine.cpu.tensor.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Byte-level BPE with the pre-tokenizer splits of GPT-2, Llama 3 and Qwen2, from small
 * tokenizer.json fixtures built here and from a GGUF {@code gpt2} vocabulary.
 */
class ByteLevelBpeTokenizerTest {

    static final String TEXT = "Hello world's 12345 numbers!\n\n  ok";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void gpt2SplitsLettersNumbersAndPunctuationWithTheirLeadingSpace() {
        assertEquals(List.of("Hello", " world", "'s", " 12345", " numbers", "!", "\n\n ", " ok"),
                PreTokenizer.forGGUF("gpt2").split(TEXT));
        // unknown names fall back to GPT-2's split, as in llama.cpp
        assertEquals(PreTokenizer.forGGUF("gpt2").split(TEXT), PreTokenizer.forGGUF("no-such-pre").split(TEXT));
    }

    @Test
    void llama3SplitsNumbersInGroupsOfThreeAndKeepsNewlinesWithPunctuation() {
        assertEquals(List.of("Hello", " world", "'s", " ", "123", "45", " numbers", "!\n\n", " ", " ok"),
                PreTokenizer.forGGUF("llama-bpe").split(TEXT));
        assertEquals(List.of("HELLO", "'S"), PreTokenizer.forGGUF("llama-bpe").split("HELLO'S"));
    }

    @Test
    void qwen2SplitsEveryDigit() {
        assertEquals(List.of("Hello", " world", "'s", " ", "1", "2", "3", "4", "5", " numbers", "!\n\n", " ", " ok"),
                PreTokenizer.forGGUF("qwen2").split(TEXT));
    }

    @Test
    void piecesAlwaysConcatenateBackToTheText() {
        String text = "  leading\tand\u00a0non-breaking  spaces, émojis 🙂🙂 and 中文 text 12,345.67\r\n";
        for (String pre : List.of("gpt2", "llama-bpe", "qwen2", "smollm")) {
            assertEquals(text, String.join("", PreTokenizer.forGGUF(pre).split(text)), pre);
        }
    }

    /** A tokenizer.json: 256 byte tokens, then merges building "Hello", " world" (as Ġworld) and "123". */
    private static ObjectNode fixture(ArrayNode preTokenizer, boolean nfc) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        ObjectNode vocab = model.putObject("vocab");
        List<String> byteChars = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            String c = ByteLevelBpeTokenizer.toByteChars(new byte[] {(byte) b});
            byteChars.add(c);
            vocab.put(c, b);
        }
        String[][] merges = {{"H", "e"}, {"l", "l"}, {"He", "ll"}, {"Hell", "o"}, {"Ġ", "w"}, {"o", "r"},
            {"Ġw", "or"}, {"l", "d"}, {"Ġwor", "ld"}, {"1", "2"}, {"12", "3"}};
        ArrayNode m = model.putArray("merges");
        int id = 256;
        for (String[] pair : merges) {
            m.add(pair[0] + " " + pair[1]);
            vocab.put(pair[0] + pair[1], id++);
        }
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", id).put("content", "<|endoftext|>").put("special", true);
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        pre.set("pretokenizers", preTokenizer);
        if (nfc) {
            root.putObject("normalizer").put("type", "NFC");
        }
        return root;
    }

    private static ArrayNode split(String regex) {
        ArrayNode a = JSON.createArrayNode();
        ObjectNode s = a.addObject();
        s.put("type", "Split");
        s.putObject("pattern").put("Regex", regex);
        s.put("behavior", "Isolated");
        a.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", false);
        return a;
    }

    private static ByteLevelBpeTokenizer load(ObjectNode root) throws Exception {
        ObjectNode config = JSON.createObjectNode().put("eos_token", "<|endoftext|>").put("add_bos_token", false);
        return (ByteLevelBpeTokenizer) Tokenizers.fromHuggingFaceJson(Path.of("tokenizer.json"),
                JSON.writeValueAsBytes(root), JSON.writeValueAsBytes(config)).tokenizer();
    }

    @Test
    void tokenizerJsonWithLlama3AndQwen2SplitsAndGpt2ByteLevel() throws Exception {
        ByteLevelBpeTokenizer llama3 = load(fixture(split(PreTokenizer.LLAMA3), false));
        ByteLevelBpeTokenizer qwen2 = load(fixture(split(PreTokenizer.QWEN2), true));
        ArrayNode gpt2Steps = JSON.createArrayNode();
        gpt2Steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        ByteLevelBpeTokenizer gpt2 = load(fixture(gpt2Steps, false));
        assertEquals(PreTokenizer.forGGUF("llama-bpe").split(TEXT), llama3.preTokenizer().split(TEXT));
        assertEquals(PreTokenizer.forGGUF("qwen2").split(TEXT), qwen2.preTokenizer().split(TEXT));
        assertEquals(PreTokenizer.forGGUF("gpt2").split(TEXT), gpt2.preTokenizer().split(TEXT));

        int hello = 259;
        int world = 264;
        int oneTwoThree = 266;
        for (Tokenizer t : List.of(llama3, qwen2, gpt2)) {
            assertArrayEquals(new int[] {hello, world}, t.encode("Hello world", false, false));
            assertEquals("Hello world", t.decode(new int[] {hello, world}, false));
        }
        // "12345": Llama 3 pieces 123|45, Qwen2 1|2|3|4|5, GPT-2 one piece merged to 123 + 4 + 5
        assertArrayEquals(new int[] {oneTwoThree, '4', '5'}, llama3.encode("12345", false, false));
        assertArrayEquals(new int[] {'1', '2', '3', '4', '5'}, qwen2.encode("12345", false, false));
        assertArrayEquals(new int[] {oneTwoThree, '4', '5'}, gpt2.encode("12345", false, false));
        // bytes beyond ASCII: each UTF-8 byte is a token, and decoding gives the text back
        String text = "Hello wörld 🙂";
        for (Tokenizer t : List.of(llama3, qwen2, gpt2)) {
            assertEquals(text, t.decode(t.encode(text, false, false), false));
        }
        // NFC: a decomposed "ö" (o + U+0308) becomes the composed character for Qwen2
        String decomposed = "wo\u0308rld";
        assertArrayEquals(qwen2.encode("wörld", false, false), qwen2.encode(decomposed, false, false));
        assertFalse(java.util.Arrays.equals(llama3.encode("wörld", false, false), llama3.encode(decomposed, false, false)));
    }

    @Test
    void specialTokensAndEos() throws Exception {
        ByteLevelBpeTokenizer t = load(fixture(split(PreTokenizer.LLAMA3), false));
        int eot = 267;
        assertArrayEquals(new int[] {eot}, t.eos());
        assertArrayEquals(new int[] {259, eot, 259}, t.encode("Hello<|endoftext|>Hello", false, true));
        int[] plain = t.encode("<|endoftext|>", false, false);
        assertTrue(plain.length > 1);
        assertEquals("", t.decode(new int[] {eot}, true));
        assertEquals("<|endoftext|>", t.decode(new int[] {eot}, false));
        assertFalse(t.addsBos());
        assertEquals(-1, t.bos());
    }

    @Test
    void streamingHoldsBackSplitCharacters() throws Exception {
        ByteLevelBpeTokenizer t = load(fixture(split(PreTokenizer.LLAMA3), false));
        byte[] smile = "🙂".getBytes(StandardCharsets.UTF_8);
        StreamDecoder d = t.streamDecoder(false);
        for (int i = 0; i < 3; i++) {
            assertEquals("", d.next(smile[i] & 0xFF));
        }
        assertEquals("🙂", d.next(smile[3] & 0xFF));
    }

    @Test
    void ggufGpt2VocabularyTokenizesLikeTokenizerJson() throws Exception {
        ObjectNode root = fixture(split(PreTokenizer.LLAMA3), false);
        ByteLevelBpeTokenizer json = load(root);
        String[] tokens = new String[json.vocabSize()];
        int[] types = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = json.tokenText(i);
            types[i] = json.isSpecial(i) ? TokenType.CONTROL : TokenType.NORMAL;
        }
        List<String> merges = new ArrayList<>();
        root.get("model").get("merges").forEach(n -> merges.add(n.asText()));
        Path file = tmp.resolve("gpt2-vocab.gguf");
        new GGUFWriter().string("general.architecture", "llama").string("tokenizer.ggml.model", "gpt2")
                .string("tokenizer.ggml.pre", "llama-bpe").strings("tokenizer.ggml.tokens", tokens)
                .i32s("tokenizer.ggml.token_type", types).strings("tokenizer.ggml.merges", merges.toArray(new String[0]))
                .u32("tokenizer.ggml.eos_token_id", 267).write(file);
        Tokenizer gguf = Tokenizers.fromGGUF(GGUFFile.read(file)).tokenizer();
        for (String text : List.of(TEXT, "Hello world 12345", "naïve <|endoftext|> 🙂")) {
            assertArrayEquals(json.encode(text, false, true), gguf.encode(text, false, true), text);
        }
    }

    @Test
    void unsupportedModelsFailClearly() {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("model").put("type", "WordPiece").putObject("vocab").put("a", 0);
        FormatException e = assertThrows(FormatException.class, () -> load(root));
        assertTrue(e.getMessage().contains("WordPiece"), e.getMessage());
        ObjectNode bad = fixture(split(PreTokenizer.GPT2), false);
        ((ObjectNode) bad.get("model").get("vocab")).put("x", -5);
        assertThrows(FormatException.class, () -> load(bad));
        // a regex from the file is never compiled: only the known families' expressions are taken
        FormatException regex = assertThrows(FormatException.class, () -> load(fixture(split("(a+)+$"), false)));
        assertTrue(regex.getMessage().contains("is not one this engine knows"), regex.getMessage());
        assertThrows(FormatException.class, () -> Tokenizers.fromHuggingFaceJson(Path.of("t.json"),
                "{\"model\": [".getBytes(StandardCharsets.UTF_8), null));
    }
}
