package org.halyard.kvcache.api;

/** How a block stores its keys and values. */
public enum KvDType {
    /** 32-bit floats: exact. */
    F32(4),
    /** IEEE half floats: about three decimal digits. */
    F16(2),
    /** 8-bit integers with a float scale per head and block: a quarter of F32's memory. */
    INT8(1);

    private final int bytesPerValue;

    KvDType(int bytesPerValue) {
        this.bytesPerValue = bytesPerValue;
    }

    /** Bytes one stored value takes, not counting scales. */
    public int bytesPerValue() {
        return bytesPerValue;
    }
}
