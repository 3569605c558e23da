package org.halyard.kvcache.impl.kernel;

import jdk.incubator.vector.FloatVector;

/** Asks the Vector API how wide the CPU's vectors are; loaded only once the module was found. */
final class VectorProbe {

    private VectorProbe() {
    }

    /** The width to use for a requested one (-1: the widest there is); 0 when too narrow. */
    static int resolveBits(int requested) {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (preferred < 128) {
            return 0;
        }
        if (requested < 0) {
            return preferred;
        }
        int bits = Math.min(requested, preferred);
        return bits >= 512 ? 512 : bits >= 256 ? 256 : bits >= 128 ? 128 : 0;
    }
}
