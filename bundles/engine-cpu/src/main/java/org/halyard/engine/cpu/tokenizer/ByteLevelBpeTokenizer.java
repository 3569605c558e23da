package org.halyard.engine.cpu.tokenizer;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE (GPT-2, Llama 3, Qwen2; GGUF {@code tokenizer.ggml.model = gpt2} and Hugging
 * Face {@code ByteLevel}): text is split by the {@link PreTokenizer}, each piece's UTF-8 bytes
 * are mapped to printable characters (GPT-2's byte-to-unicode table), and the characters merge
 * by the rank of each pair in the merge list.
 *
 * <pre>
 *   "Hello world" → pre-tokenize → "Hello", " world" → bytes → "Hello", "Ġworld" → merges → ids
 * </pre>
 */
final class ByteLevelBpeTokenizer extends BaseTokenizer {

    private static final int CACHE_LIMIT = 1 << 14;
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_TO_BYTE = new java.util.HashMap<>();

    static {
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
        }
    }

    private final Map<String, Integer> mergeRanks;
    private final PreTokenizer pre;
    private final boolean addPrefixSpace;
    private final boolean ignoreMerges;
    private final boolean nfc;
    private final int unk;
    /** Pieces seen before and their ids; bounded so hostile input cannot grow it without limit. */
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    ByteLevelBpeTokenizer(String[] tokens, int[] types, Map<String, Integer> mergeRanks, PreTokenizer pre,
            boolean addPrefixSpace, boolean ignoreMerges, boolean nfc, int bos, int[] eos, boolean addBos, int unk) {
        super(tokens, types, bos, eos, addBos);
        this.mergeRanks = mergeRanks;
        this.pre = pre;
        this.addPrefixSpace = addPrefixSpace;
        this.ignoreMerges = ignoreMerges;
        this.nfc = nfc;
        this.unk = unk;
        initPieces();
    }

    /** The pre-tokenizer in use. */
    PreTokenizer preTokenizer() {
        return pre;
    }

    static String toByteChars(byte[] bytes) {
        char[] c = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            c[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(c);
    }

    @Override
    protected byte[] decodePiece(int token) {
        String t = tokens[token];
        byte[] out = new byte[t.length() * 3];
        int n = 0;
        for (int i = 0; i < t.length(); i++) {
            Integer b = CHAR_TO_BYTE.get(t.charAt(i));
            if (b != null) {
                out[n++] = (byte) (int) b;
            } else {
                byte[] u = String.valueOf(t.charAt(i)).getBytes(StandardCharsets.UTF_8);
                System.arraycopy(u, 0, out, n, u.length);
                n += u.length;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    @Override
    protected void encodeText(String text, boolean afterSpecial, IntList out) {
        if (nfc) {
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
        }
        if (addPrefixSpace && afterSpecial && !text.startsWith(" ")) {
            text = " " + text;
        }
        for (String piece : pre.split(text)) {
            int[] cached = cache.get(piece);
            if (cached == null) {
                cached = encodePiece(piece);
                if (cache.size() < CACHE_LIMIT) {
                    cache.put(piece, cached);
                }
            }
            for (int id : cached) {
                out.add(id);
            }
        }
    }

    private int[] encodePiece(String piece) {
        String mapped = toByteChars(piece.getBytes(StandardCharsets.UTF_8));
        Integer whole = ids.get(mapped);
        if (ignoreMerges && whole != null) {
            return new int[] {whole};
        }
        String[] symbols = BpeMerges.codePoints(mapped);
        int n = BpeMerges.merge(symbols, (l, r) -> {
            Integer rank = mergeRanks.get(l + " " + r);
            return rank == null ? Double.POSITIVE_INFINITY : rank;
        });
        IntList ids = new IntList(n);
        for (int i = 0; i < n; i++) {
            Integer id = this.ids.get(symbols[i]);
            if (id != null) {
                ids.add(id);
            } else {
                // a symbol the vocabulary lacks (an incomplete vocabulary): per character, else unknown
                for (String ch : BpeMerges.codePoints(symbols[i])) {
                    Integer c = this.ids.get(ch);
                    if (c != null) {
                        ids.add(c);
                    } else if (unk >= 0) {
                        ids.add(unk);
                    }
                }
            }
        }
        return ids.toArray();
    }
}
