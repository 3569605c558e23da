package org.halyard.scheduler.impl;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.halyard.engine.api.StreamDecoder;
import org.halyard.engine.api.Tokenizer;

/** Byte-level tokenizer: 0 unk, 1 BOS, 2 EOS, then one token per byte (3 + byte). */
final class FakeTokenizer implements Tokenizer {

    static final int BOS = 1;
    static final int EOS = 2;
    static final int VOCAB = 259;

    static int tokenOf(int b) {
        return 3 + (b & 0xff);
    }

    @Override
    public int vocabSize() {
        return VOCAB;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] t = new int[b.length + (addBos ? 1 : 0)];
        int i = 0;
        if (addBos) {
            t[i++] = BOS;
        }
        for (byte x : b) {
            t[i++] = tokenOf(x);
        }
        return t;
    }

    @Override
    public String decode(int[] tokens, boolean skipSpecial) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int t : tokens) {
            out.writeBytes(tokenBytes(t));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public StreamDecoder streamDecoder(boolean skipSpecial) {
        return new StreamDecoder() {
            private final ByteArrayOutputStream held = new ByteArrayOutputStream();

            @Override
            public String next(int token) {
                held.writeBytes(tokenBytes(token));
                byte[] b = held.toByteArray();
                // emit the longest prefix that decodes without error
                for (int end = b.length; end >= 0; end--) {
                    CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT);
                    try {
                        CharBuffer c = d.decode(ByteBuffer.wrap(b, 0, end));
                        held.reset();
                        held.write(b, end, b.length - end);
                        return c.toString();
                    } catch (CharacterCodingException e) {
                        // shorter
                    }
                }
                return "";
            }

            @Override
            public String flush() {
                String s = held.toString(StandardCharsets.UTF_8);
                held.reset();
                return s;
            }
        };
    }

    @Override
    public byte[] tokenBytes(int token) {
        return token >= 3 ? new byte[] {(byte) (token - 3)} : new byte[0];
    }

    @Override
    public String tokenText(int token) {
        return token == BOS ? "<s>" : token == EOS ? "</s>" : token == 0 ? "<unk>" : "<0x" + Integer.toHexString(token - 3) + ">";
    }

    @Override
    public boolean isSpecial(int token) {
        return token < 3;
    }

    @Override
    public int bos() {
        return BOS;
    }

    @Override
    public int[] eos() {
        return new int[] {EOS};
    }

    @Override
    public boolean addsBos() {
        return true;
    }
}
