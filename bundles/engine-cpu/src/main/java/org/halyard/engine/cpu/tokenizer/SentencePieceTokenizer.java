package org.halyard.engine.cpu.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * SentencePiece-style BPE (GGUF {@code tokenizer.ggml.model = llama}; Hugging Face BPE with byte
 * fallback and the {@code ▁} normaliser): spaces become {@code ▁}, a text fragment that starts
 * the input or follows a special token gets a leading {@code ▁}, runs of spaces are kept as they
 * are, pieces merge by score (or merge rank), and characters the vocabulary lacks fall back to
 * their UTF-8 bytes as {@code <0xXX>} tokens.
 */
final class SentencePieceTokenizer extends BaseTokenizer {

    static final char SPACE = '\u2581';

    private final float[] scores;
    private final Map<String, Integer> mergeRanks;
    private final boolean addSpacePrefix;
    private final int[] byteTokens = new int[256];
    private final int unk;

    /**
     * @param scores merge scores per token (GGUF), or null to rank by {@code mergeRanks}
     * @param mergeRanks "left right" to rank (Hugging Face), or null to rank by scores
     */
    SentencePieceTokenizer(String[] tokens, int[] types, float[] scores, Map<String, Integer> mergeRanks,
            boolean addSpacePrefix, int bos, int[] eos, boolean addBos, int unk) {
        super(tokens, types, bos, eos, addBos);
        this.scores = scores;
        this.mergeRanks = mergeRanks;
        this.addSpacePrefix = addSpacePrefix;
        this.unk = unk;
        java.util.Arrays.fill(byteTokens, -1);
        for (int i = 0; i < tokens.length; i++) {
            int b = byteValue(tokens[i]);
            if (b >= 0 && (types[i] == TokenType.BYTE || types[i] == TokenType.NORMAL) && byteTokens[b] < 0) {
                byteTokens[b] = i;
                types[i] = TokenType.BYTE;
            }
        }
        initPieces();
    }

    /** The byte of a {@code <0xXX>} token, or -1. */
    static int byteValue(String token) {
        if (token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")) {
            try {
                return Integer.parseInt(token.substring(3, 5), 16);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return -1;
    }

    @Override
    protected byte[] decodePiece(int token) {
        if (types[token] == TokenType.BYTE) {
            return new byte[] {(byte) byteValue(tokens[token])};
        }
        return tokens[token].replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected void encodeText(String text, boolean afterSpecial, IntList out) {
        if (addSpacePrefix && afterSpecial) {
            text = " " + text;
        }
        String[] symbols = BpeMerges.codePoints(text.replace(' ', SPACE));
        int n = BpeMerges.merge(symbols, this::rank);
        for (int i = 0; i < n; i++) {
            Integer id = ids.get(symbols[i]);
            if (id != null && mergeable(id)) {
                out.add(id);
            } else {
                for (byte b : symbols[i].getBytes(StandardCharsets.UTF_8)) {
                    int t = byteTokens[b & 0xFF];
                    if (t >= 0) {
                        out.add(t);
                    } else if (unk >= 0) {
                        out.add(unk);
                    }
                }
            }
        }
    }

    private boolean mergeable(int id) {
        return types[id] == TokenType.NORMAL || types[id] == TokenType.USER_DEFINED;
    }

    private double rank(String left, String right) {
        String merged = left + right;
        Integer id = ids.get(merged);
        if (id == null || !mergeable(id)) {
            return Double.POSITIVE_INFINITY;
        }
        if (mergeRanks != null) {
            Integer r = mergeRanks.get(left + " " + right);
            return r == null ? Double.POSITIVE_INFINITY : r;
        }
        return -scores[id];
    }

    @Override
    protected String finishDecode(String text, int[] tokenIds) {
        // the prefix space the encoder added is not part of the text (Hugging Face's Strip decoder)
        return addSpacePrefix && text.startsWith(" ") ? text.substring(1) : text;
    }
}
