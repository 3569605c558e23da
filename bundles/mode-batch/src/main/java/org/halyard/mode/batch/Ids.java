package org.halyard.mode.batch;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Ids in OpenAI's forms: {@code file-...}, {@code batch_...}, {@code batch_req_...}. */
final class Ids {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    static String file() {
        return "file-" + random(12);
    }

    static String batch() {
        return "batch_" + random(12);
    }

    static String request() {
        return "batch_req_" + random(12);
    }
}
