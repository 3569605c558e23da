package org.halyard.engine.cpu.tensor;

/**
 * Tensor encodings as data: the GGUF type id, how many elements a block holds and how many
 * bytes it takes. The ids are GGML's ({@code ggml_type}); only the types this engine can compute
 * with are listed, every other id is rejected by {@link #fromId}.
 */
public enum GGMLType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    /** 32 int8 values with one F16 scale: {@code x = d * q}. */
    Q4_0(2, 32, 2 + 16),
    /** 32 4-bit values with one F16 scale: {@code x = d * (q - 8)}. */
    Q8_0(8, 32, 2 + 32),
    BF16(30, 1, 2);

    private final int id;
    private final int blockSize;
    private final int typeSize;

    GGMLType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** GGML's type id, as stored in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Elements per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** Bytes that {@code elements} elements take; {@code elements} must be a multiple of the block size. */
    public long bytes(long elements) {
        return Math.multiplyExact(elements / blockSize, (long) typeSize);
    }

    /** The type with this GGML id, or an exception naming the id. */
    public static GGMLType fromId(int id) throws FormatException {
        for (GGMLType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        throw new FormatException("unsupported tensor type id " + id + " (" + ggmlName(id)
                + "); this engine computes with F32, F16, BF16, Q8_0 and Q4_0");
    }

    /** The type with this name (case-insensitive), for command-line options. */
    public static GGMLType fromName(String name) {
        for (GGMLType t : values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown tensor type " + name);
    }

    private static String ggmlName(int id) {
        String[] names = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
            "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16"};
        return id >= 0 && id < names.length ? names[id] : "unknown";
    }
}
