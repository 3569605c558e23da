package org.halyard.engine.cpu.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.halyard.engine.api.StreamDecoder;
import org.halyard.engine.api.Tokenizer;

/**
 * What the tokenizers share: the vocabulary, special tokens and how they are found in text,
 * BOS/EOS, decoding to bytes and streaming. Subclasses encode plain text fragments.
 *
 * <p>Special tokens in text: user-defined tokens are always matched as a whole; control tokens
 * (BOS, EOS, chat markers) only when {@code parseSpecial} is true, as llama.cpp does. Text
 * between them is encoded fragment by fragment.
 */
abstract class BaseTokenizer implements Tokenizer {

    protected final String[] tokens;
    protected final int[] types;
    protected final Map<String, Integer> ids;
    private final byte[][] pieces;
    private final int bos;
    private final int[] eos;
    private final boolean addBos;
    /** Special token texts by their first char, longest first. */
    private final Map<Character, int[]> specialsByFirst = new HashMap<>();

    BaseTokenizer(String[] tokens, int[] types, int bos, int[] eos, boolean addBos) {
        this.tokens = tokens;
        this.types = types;
        this.bos = bos;
        this.eos = eos.clone();
        this.addBos = addBos;
        this.ids = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) {
            ids.putIfAbsent(tokens[i], i);
        }
        this.pieces = new byte[tokens.length][];
        Map<Character, List<Integer>> specials = new HashMap<>();
        for (int i = 0; i < tokens.length; i++) {
            if ((types[i] == TokenType.CONTROL || types[i] == TokenType.USER_DEFINED) && !tokens[i].isEmpty()) {
                specials.computeIfAbsent(tokens[i].charAt(0), c -> new ArrayList<>()).add(i);
            }
        }
        specials.forEach((c, list) -> specialsByFirst.put(c, list.stream()
                .sorted((a, b) -> tokens[b].length() - tokens[a].length()).mapToInt(Integer::intValue).toArray()));
    }

    /** Called by subclasses once their own fields are set. */
    protected final void initPieces() {
        for (int i = 0; i < tokens.length; i++) {
            pieces[i] = isControlLike(i) ? new byte[0] : decodePiece(i);
        }
    }

    /** The bytes a (non-control) token stands for. */
    protected abstract byte[] decodePiece(int token);

    /** Encodes a fragment of plain text (no special tokens in it). */
    protected abstract void encodeText(String text, boolean afterSpecial, IntList out);

    /** Adjusts the decoded text of a whole sequence (SentencePiece drops the prefix space). */
    protected String finishDecode(String text, int[] tokens) {
        return text;
    }

    private boolean isControlLike(int token) {
        return types[token] == TokenType.CONTROL || types[token] == TokenType.UNKNOWN || types[token] == TokenType.UNUSED;
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int[] encode(String text, boolean withBos, boolean parseSpecial) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (withBos && addBos && bos >= 0) {
            out.add(bos);
        }
        boolean afterSpecial = true;
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            int special = matchSpecial(text, i, parseSpecial);
            if (special < 0) {
                i++;
                continue;
            }
            if (i > start) {
                encodeText(text.substring(start, i), afterSpecial, out);
            }
            out.add(special);
            afterSpecial = true;
            i += tokens[special].length();
            start = i;
        }
        if (start < text.length()) {
            encodeText(text.substring(start), afterSpecial, out);
        }
        return out.toArray();
    }

    private int matchSpecial(String text, int at, boolean parseSpecial) {
        int[] candidates = specialsByFirst.get(text.charAt(at));
        if (candidates == null) {
            return -1;
        }
        for (int id : candidates) {
            if ((parseSpecial || types[id] == TokenType.USER_DEFINED) && text.startsWith(tokens[id], at)) {
                return id;
            }
        }
        return -1;
    }

    /** The bytes a token adds to decoded text (special tokens' text unless skipped). */
    byte[] pieceBytes(int token, boolean skipSpecial) {
        checkToken(token);
        if (isControlLike(token) && !skipSpecial) {
            return tokens[token].getBytes(StandardCharsets.UTF_8);
        }
        return pieces[token];
    }

    @Override
    public String decode(int[] tokenIds, boolean skipSpecial) {
        ByteBuf buf = new ByteBuf();
        for (int t : tokenIds) {
            buf.add(pieceBytes(t, skipSpecial));
        }
        return finishDecode(buf.string(), tokenIds);
    }

    @Override
    public StreamDecoder streamDecoder(boolean skipSpecial) {
        return new Utf8StreamDecoder(this, skipSpecial);
    }

    @Override
    public byte[] tokenBytes(int token) {
        checkToken(token);
        return pieces[token].clone();
    }

    @Override
    public String tokenText(int token) {
        checkToken(token);
        return tokens[token];
    }

    @Override
    public boolean isSpecial(int token) {
        checkToken(token);
        return types[token] == TokenType.CONTROL || types[token] == TokenType.USER_DEFINED
                || types[token] == TokenType.UNKNOWN;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int[] eos() {
        return eos.clone();
    }

    @Override
    public boolean addsBos() {
        return addBos && bos >= 0;
    }

    /** The id of a vocabulary entry, or -1. */
    public int id(String token) {
        Integer id = ids.get(token);
        return id == null ? -1 : id;
    }

    private void checkToken(int token) {
        if (token < 0 || token >= tokens.length) {
            throw new IllegalArgumentException("token " + token + " is not in the vocabulary of " + tokens.length);
        }
    }

    /** A growable int array. */
    static final class IntList {
        int[] a;
        int n;

        IntList(int capacity) {
            a = new int[capacity];
        }

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, a.length * 2 + 1);
            }
            a[n++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    private static final class ByteBuf {
        byte[] a = new byte[64];
        int n;

        void add(byte[] b) {
            if (n + b.length > a.length) {
                a = Arrays.copyOf(a, Math.max(a.length * 2, n + b.length));
            }
            System.arraycopy(b, 0, a, n, b.length);
            n += b.length;
        }

        String string() {
            return new String(a, 0, n, StandardCharsets.UTF_8);
        }
    }
}
