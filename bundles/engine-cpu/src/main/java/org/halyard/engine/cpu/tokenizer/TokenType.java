package org.halyard.engine.cpu.tokenizer;

/** Token types as GGUF stores them ({@code tokenizer.ggml.token_type}). */
public final class TokenType {
    public static final int NORMAL = 1;
    public static final int UNKNOWN = 2;
    /** BOS, EOS, chat markers: matched in text only when asked to parse special tokens. */
    public static final int CONTROL = 3;
    /** Added tokens that are always matched in text as a whole. */
    public static final int USER_DEFINED = 4;
    public static final int UNUSED = 5;
    /** {@code <0xXX>}: one raw byte (SentencePiece byte fallback). */
    public static final int BYTE = 6;

    private TokenType() {
    }
}
