package org.halyard.engine.cpu.gguf;

/** The types of GGUF metadata values, with their ids in the file. */
public enum GGUFValueType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1),
    /** u64 length, then UTF-8 bytes */
    STRING(8),
    /** u32 element type, u64 count, then the elements */
    ARRAY(12),
    UINT64(8), INT64(8), FLOAT64(8);

    /** The fewest bytes a value of this type takes in the file (for bounds checks). */
    final int minBytes;

    GGUFValueType(int minBytes) {
        this.minBytes = minBytes;
    }

    static GGUFValueType fromId(int id) {
        GGUFValueType[] all = values();
        return id >= 0 && id < all.length ? all[id] : null;
    }
}
