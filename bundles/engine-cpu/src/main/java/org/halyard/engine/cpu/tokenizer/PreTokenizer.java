package org.halyard.engine.cpu.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the pieces byte-level BPE encodes one by one, by one or more regular
 * expressions applied in turn (each splits every piece of the previous; the text between matches
 * is kept as pieces too, as llama.cpp and Hugging Face's {@code Split(behavior=Isolated)} do).
 */
public final class PreTokenizer {

    /** GPT-2 (and the default of GGUF {@code gpt2} vocabularies). */
    public static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** Llama 3: case-insensitive contractions, numbers in groups of up to three digits. */
    public static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen2: as Llama 3, but every digit on its own. */
    public static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Single digits (Hugging Face {@code Digits(individual_digits=true)}, llama.cpp's smollm/starcoder first pass). */
    public static final String DIGITS = "\\p{N}";

    private final List<Pattern> patterns;
    private final String name;

    public PreTokenizer(String name, List<String> regexes) {
        this.name = name;
        this.patterns = new ArrayList<>();
        for (String r : regexes) {
            // Python's (and Rust's) \s and \p classes are Unicode-aware; Java's \s is not by default
            patterns.add(Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS));
        }
    }

    /**
     * The known pre-tokenizer a tokenizer.json {@code Split} regex stands for, or null. Regexes
     * from a file are never compiled: a hostile one could backtrack for ever (fuzzing flagged the
     * compile of file-supplied patterns), so only the expressions of the supported model
     * families are accepted, as llama.cpp does.
     */
    public static String known(String regex) {
        for (String r : List.of(GPT2, LLAMA3, QWEN2, DIGITS, "\\p{N}+")) {
            if (r.equals(regex)) {
                return r;
            }
        }
        return null;
    }

    /**
     * The pre-tokenizer of a GGUF {@code tokenizer.ggml.pre} name; unknown names get GPT-2's, as
     * llama.cpp does.
     */
    public static PreTokenizer forGGUF(String pre) {
        String p = pre == null ? "default" : pre;
        return switch (p) {
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral" -> new PreTokenizer(p, List.of(LLAMA3));
            case "qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan" -> new PreTokenizer(p, List.of(QWEN2));
            case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva" ->
                    new PreTokenizer(p, List.of(DIGITS, GPT2));
            default -> new PreTokenizer(p, List.of(GPT2));
        };
    }

    public String name() {
        return name;
    }

    /** The pieces of {@code text}, in order; they concatenate back to the text. */
    public List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        pieces.add(text);
        for (Pattern p : patterns) {
            List<String> next = new ArrayList<>();
            for (String piece : pieces) {
                Matcher m = p.matcher(piece);
                int last = 0;
                while (m.find()) {
                    if (m.end() == m.start()) {
                        continue;
                    }
                    if (m.start() > last) {
                        next.add(piece.substring(last, m.start()));
                    }
                    next.add(m.group());
                    last = m.end();
                }
                if (last < piece.length()) {
                    next.add(piece.substring(last));
                }
            }
            pieces = next;
        }
        return pieces;
    }
}
