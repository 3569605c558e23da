package org.halyard.engine.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Text to token ids and back, for one model. Thread safe.
 */
@ProviderType
public interface Tokenizer {

    /** Tokens in the vocabulary. */
    int vocabSize();

    /**
     * Encodes text.
     *
     * @param addBos whether to start with the beginning-of-sequence token (when the model has one
     *     and its metadata asks for it)
     * @param parseSpecial whether the text of special tokens (such as {@code </s>} in a rendered
     *     chat template) becomes their ids; false treats it as plain text
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /** Decodes ids to text; control tokens are left out when {@code skipSpecial}. */
    String decode(int[] tokens, boolean skipSpecial);

    /** A decoder for a stream of tokens that never returns half a UTF-8 character. */
    StreamDecoder streamDecoder(boolean skipSpecial);

    /** The bytes a token stands for when decoded (empty for control tokens). */
    byte[] tokenBytes(int token);

    /** The token's entry in the vocabulary, as stored (for display). */
    String tokenText(int token);

    /** Whether the token is a special or control token (BOS, EOS, chat markers). */
    boolean isSpecial(int token);

    /** The beginning-of-sequence token, or -1. */
    int bos();

    /** The tokens that end generation (EOS, end-of-turn); empty when none. */
    int[] eos();

    /** Whether {@link #encode} with {@code addBos} true adds the BOS (from the model's metadata). */
    boolean addsBos();
}
