package org.halyard.engine.cpu.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.halyard.engine.api.StreamDecoder;

/**
 * Streams token bytes out as text, holding back the bytes of a UTF-8 character until its last
 * byte has arrived. Bytes that can never become a valid character are emitted as U+FFFD at once.
 *
 * <pre>
 *   tokens:  "caf"   &lt;0xC3&gt;   &lt;0xA9&gt;   " ok"
 *   emitted: "caf"   ""         "é"        " ok"
 * </pre>
 */
final class Utf8StreamDecoder implements StreamDecoder {

    private final BaseTokenizer tokenizer;
    private final boolean skipSpecial;
    private byte[] pending = new byte[16];
    private int count;

    Utf8StreamDecoder(BaseTokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    @Override
    public String next(int token) {
        byte[] b = tokenizer.pieceBytes(token, skipSpecial);
        if (count + b.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, count + b.length));
        }
        System.arraycopy(b, 0, pending, count, b.length);
        count += b.length;
        int complete = completePrefix(pending, count);
        if (complete == 0) {
            return "";
        }
        String s = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, count - complete);
        count -= complete;
        return s;
    }

    @Override
    public String flush() {
        String s = new String(pending, 0, count, StandardCharsets.UTF_8);
        count = 0;
        return s;
    }

    /**
     * Length of the longest prefix that does not end inside a character that may still be
     * completed: a trailing lead byte with fewer continuation bytes than it needs is held back;
     * anything invalid is let through (the decoder turns it into U+FFFD).
     */
    static int completePrefix(byte[] b, int n) {
        // look at most 3 bytes back for the start of the last character
        for (int back = 1; back <= Math.min(3, n); back++) {
            int lead = b[n - back] & 0xFF;
            if ((lead & 0xC0) == 0x80) {
                continue; // a continuation byte: keep looking for its lead
            }
            int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
            if (lead >= 0xF5 || lead == 0xC0 || lead == 0xC1) {
                need = 1; // never valid
            }
            if (need > back && validSoFar(b, n - back, n)) {
                return n - back;
            }
            return n;
        }
        return n;
    }

    /** Whether the bytes from a lead byte are a valid beginning of a character. */
    private static boolean validSoFar(byte[] b, int from, int to) {
        int lead = b[from] & 0xFF;
        if (to - from >= 2) {
            int second = b[from + 1] & 0xFF;
            // the second byte's range is narrower after some lead bytes (overlong, surrogates, > U+10FFFF)
            if (lead == 0xE0 && second < 0xA0 || lead == 0xED && second > 0x9F
                    || lead == 0xF0 && second < 0x90 || lead == 0xF4 && second > 0x8F) {
                return false;
            }
        }
        return true;
    }
}
