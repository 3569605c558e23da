package org.halyard.engine.cpu.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.halyard.engine.api.ModelLoadException;
import org.halyard.engine.api.StreamDecoder;
import org.halyard.engine.api.Tokenizer;
import org.halyard.engine.cpu.Fixtures;
import org.halyard.engine.cpu.ModelLoader;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.gguf.GGUFWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo model's SentencePiece-style BPE tokenizer, loaded from the GGUF metadata and from
 * tokenizer.json, against the sentencepiece library ({@code tokenizer-reference.jsonl}) and the
 * reference prompts (BOS, special tokens in a rendered chat template).
 */
class SentencePieceTokenizerTest {

    @TempDir
    static Path tmp;

    static Tokenizer gguf;
    static Tokenizer hf;
    static List<JsonNode> lines;

    @BeforeAll
    static void load() throws Exception {
        gguf = Tokenizers.fromGGUF(GGUFFile.read(Fixtures.demoF32())).tokenizer();
        hf = Tokenizers.fromHuggingFace(Fixtures.checkpoint()).tokenizer();
        ObjectMapper json = new ObjectMapper();
        lines = Files.readAllLines(Fixtures.demoDir().resolve("tokenizer-reference.jsonl")).stream()
                .filter(l -> !l.isBlank()).map(l -> {
                    try {
                        return json.readTree(l);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }).toList();
    }

    @Test
    void encodesLikeSentencepieceFromGgufAndFromTokenizerJson() {
        assertTrue(lines.size() >= 20, "reference lines: " + lines.size());
        for (JsonNode l : lines) {
            String text = l.get("text").asText();
            int[] ids = Fixtures.ints(l.get("ids"));
            assertArrayEquals(ids, gguf.encode(text, false, false), "gguf: " + text);
            assertArrayEquals(ids, hf.encode(text, false, false), "tokenizer.json: " + text);
            for (int i = 0; i < ids.length; i++) {
                assertEquals(l.get("pieces").get(i).asText(), gguf.tokenText(ids[i]));
            }
            assertEquals(text, gguf.decode(ids, true), "decode: " + text);
        }
    }

    @Test
    void referencePromptsWithBosAndSpecialTokensInAChatTemplate() {
        for (JsonNode c : Fixtures.references().get("cases")) {
            String prompt = c.get("prompt").asText();
            int[] ids = Fixtures.ints(c.get("prompt_ids"));
            boolean chat = prompt.startsWith("<s>");
            for (Tokenizer t : List.of(gguf, hf)) {
                // a rendered chat template writes its own BOS; plain prompts get one from the tokenizer
                assertArrayEquals(ids, t.encode(prompt, !chat, chat), prompt);
            }
        }
    }

    @Test
    void specialTokenTextIsPlainTextUnlessParsed() {
        int[] parsed = gguf.encode("</s>", false, true);
        assertArrayEquals(new int[] {2}, parsed);
        int[] plain = gguf.encode("</s>", false, false);
        assertTrue(plain.length > 1 && java.util.Arrays.stream(plain).noneMatch(t -> t == 2), "plain: "
                + java.util.Arrays.toString(plain));
        assertEquals("</s>", gguf.decode(plain, true));
        assertTrue(gguf.isSpecial(1) && gguf.isSpecial(2) && !gguf.isSpecial(300));
        assertEquals("", gguf.decode(new int[] {1, 2}, true));
        assertEquals("<s></s>", gguf.decode(new int[] {1, 2}, false));
        assertEquals(1, gguf.bos());
        assertArrayEquals(new int[] {2}, gguf.eos());
        assertTrue(gguf.addsBos());
        assertArrayEquals(new int[] {2}, hf.eos());
    }

    @Test
    void bytesOutsideTheVocabularyFallBackToByteTokensAndRoundTrip() {
        String text = "café — naïve 🙂 日本";
        int[] ids = gguf.encode(text, false, false);
        assertEquals(text, gguf.decode(ids, true));
        assertArrayEquals(ids, hf.encode(text, false, false));
        // runs of spaces are kept, not collapsed
        assertEquals("a  b   c", gguf.decode(gguf.encode("a  b   c", true, false), true));
        int e9 = gguf.encode("é", false, false)[2];
        assertEquals("<0xA9>", gguf.tokenText(e9));
        assertArrayEquals(new byte[] {(byte) 0xA9}, gguf.tokenBytes(e9));
    }

    @Test
    void streamingNeverEmitsHalfACharacter() {
        String text = "café 🙂 naïve — 日本語 ok";
        int[] ids = gguf.encode(text, false, false);
        StreamDecoder d = gguf.streamDecoder(true);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String piece = d.next(id);
            for (int i = 0; i < piece.length(); i++) {
                assertFalse(piece.charAt(i) == '\uFFFD', "no replacement characters mid-stream");
            }
            if (!piece.isEmpty()) {
                assertFalse(Character.isHighSurrogate(piece.charAt(piece.length() - 1)), "no half surrogate pair");
            }
            out.append(piece);
        }
        out.append(d.flush());
        // the stream is a continuation: it keeps the leading space decode() drops
        assertEquals(" " + text, out.toString());
        // a character split over byte tokens comes out once its last byte is there
        int[] e = gguf.encode("é", false, false);
        StreamDecoder s = gguf.streamDecoder(true);
        assertEquals(" ", s.next(e[0]));
        assertEquals("", s.next(e[1]));
        assertEquals("é", s.next(e[2]));
        // an incomplete character left at the end becomes U+FFFD on flush
        assertEquals("", s.next(e[1]));
        assertEquals("\uFFFD", s.flush());
        // a byte that can never start a character is let through as U+FFFD at once
        int ff = gguf.encode("\u00ff", false, false)[1] + (0xFF - 0xC3); // <0xC3> ... <0xFF> are consecutive
        assertEquals("<0xFF>", gguf.tokenText(ff));
        StreamDecoder invalid = gguf.streamDecoder(true);
        assertEquals("\uFFFD", invalid.next(ff));
        assertEquals("", invalid.flush());
    }

    @Test
    void vocabularyOnlyGgufTokenizesButIsNotAModel() throws Exception {
        Path vocab = tmp.resolve("vocab-only.gguf");
        GGUFFile full = GGUFFile.read(Fixtures.demoF32());
        new GGUFWriter().metadataFrom(full, k -> k.startsWith("tokenizer.") || k.startsWith("general.")).write(vocab);
        assertTrue(GGUFFile.read(vocab).tensorInfos().isEmpty());
        Tokenizer t = ModelLoader.loadTokenizer(vocab).tokenizer();
        for (JsonNode l : lines) {
            assertArrayEquals(Fixtures.ints(l.get("ids")), t.encode(l.get("text").asText(), false, false));
        }
        assertTrue(ModelLoader.loadTokenizer(vocab).chatTemplate().isPresent());
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Fixtures.load(vocab));
        assertTrue(e.getMessage().contains("vocabulary-only"), e.getMessage());
    }
}
