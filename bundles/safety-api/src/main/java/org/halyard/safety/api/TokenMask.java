package org.halyard.safety.api;

import java.util.Arrays;
import java.util.BitSet;
import java.util.Objects;

/**
 * Token ids that must never be generated for a request, whatever the sampler would choose. The
 * serving layer applies every mask that {@link TokenMaskProvider}s return as a logits processor.
 */
public final class TokenMask {

    private final String name;
    private final BitSet banned;

    /**
     * @param name the mask's name, for the audit trail
     * @param banned the banned token ids (copied)
     */
    public TokenMask(String name, BitSet banned) {
        this.name = Objects.requireNonNull(name, "name");
        this.banned = (BitSet) banned.clone();
    }

    /** A mask of the given ids. */
    public static TokenMask of(String name, int... tokens) {
        BitSet b = new BitSet();
        Arrays.stream(tokens).forEach(b::set);
        return new TokenMask(name, b);
    }

    /** The mask's name. */
    public String name() {
        return name;
    }

    /** Whether the token is banned. */
    public boolean bans(int token) {
        return token >= 0 && banned.get(token);
    }

    /** The banned ids, ascending. */
    public int[] banned() {
        return banned.stream().toArray();
    }

    /** Number of banned ids. */
    public int size() {
        return banned.cardinality();
    }

    @Override
    public String toString() {
        return "TokenMask[" + name + ", " + size() + " tokens]";
    }
}
