package org.halyard.exporter.jsonlog.impl;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Replaces identifiers (tenants, user ids) by keyed hashes: HMAC-SHA-256 under an operator's
 * key, the first 96 bits in base64url. The same identifier gives the same hash under one key, so
 * log lines of one tenant can still be grouped; without the key nobody can test a guess (a plain
 * hash of a short identifier could be reversed by trying every candidate).
 */
final class KeyedHasher {

    private final byte[] key;

    KeyedHasher(byte[] key) {
        if (key.length < 16) {
            throw new IllegalArgumentException("the hash key must have at least 16 bytes");
        }
        this.key = key.clone();
    }

    /** A hasher under a random key: hashes are stable only while this instance lives. */
    static KeyedHasher random() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return new KeyedHasher(k);
    }

    /** A hasher under a configured key (its UTF-8 bytes). */
    static KeyedHasher of(String key) {
        return new KeyedHasher(key.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code h:} followed by 16 base64url characters. */
    String hash(String identifier) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] digest = mac.doFinal(identifier.getBytes(StandardCharsets.UTF_8));
            return "h:" + Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(digest, 12));
        } catch (GeneralSecurityException e) {
            // every Java runtime has HmacSHA256; if not, no identifier leaves in clear
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
