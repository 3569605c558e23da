package org.halyard.kvcache.impl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import org.halyard.kvcache.api.KvDType;

/**
 * Prefix hashes as pure functions. A chain starts at {@link #root} (what must match for two
 * sequences to share anything: model version, block type, salt) and each full block extends it
 * with {@link #chain}, so a block's hash covers every token before it:
 *
 * <pre>
 *   root = H("halyard-kv/1", modelVersion, dtype, salt)
 *   h0   = H(root, tokens[0, B), extraKeys)
 *   h1   = H(h0,   tokens[B, 2B), extraKeys)  ...
 * </pre>
 *
 * SHA-256, cut to 128 bits: a collision would serve another prompt's keys and values, so the hash
 * must be cryptographic, not just well spread; hashing is once per block, off the hot path.
 */
public final class BlockHashes {

    private static final byte[] DOMAIN = "halyard-kv/1".getBytes(StandardCharsets.UTF_8);

    private BlockHashes() {
    }

    /** The root of every chain of sequences that may share blocks. */
    public static BlockHash root(String modelVersion, KvDType dtype, String salt) {
        MessageDigest d = sha256();
        d.update(DOMAIN);
        update(d, modelVersion);
        update(d, dtype.name());
        update(d, salt == null ? "" : salt);
        return toHash(d.digest());
    }

    /** The hash of a full block of {@code tokens}, following {@code parent}. */
    public static BlockHash chain(BlockHash parent, int[] tokens, List<String> extraKeys) {
        return chain(parent, tokens, 0, tokens.length, extraKeys);
    }

    /** The hash of the block holding {@code tokens[off, off+len)}, following {@code parent}. */
    public static BlockHash chain(BlockHash parent, int[] tokens, int off, int len, List<String> extraKeys) {
        MessageDigest d = sha256();
        ByteBuffer b = ByteBuffer.allocate(16 + 4 + 4 * len).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(parent.hi()).putLong(parent.lo()).putInt(len);
        for (int i = 0; i < len; i++) {
            b.putInt(tokens[off + i]);
        }
        d.update(b.array());
        d.update(intBytes(extraKeys.size()));
        for (String key : extraKeys) {
            update(d, key);
        }
        return toHash(d.digest());
    }

    private static void update(MessageDigest d, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        d.update(intBytes(bytes.length)); // length-prefixed: ("ab","c") and ("a","bc") differ
        d.update(bytes);
    }

    private static byte[] intBytes(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    private static BlockHash toHash(byte[] digest) {
        ByteBuffer b = ByteBuffer.wrap(digest);
        return new BlockHash(b.getLong(), b.getLong());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
