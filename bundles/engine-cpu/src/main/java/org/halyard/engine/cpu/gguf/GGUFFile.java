package org.halyard.engine.cpu.gguf;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.FormatException;
import org.halyard.engine.cpu.tensor.GGMLType;

/**
 * A GGUF file (versions 2 and 3, little-endian): metadata, tensor table, and tensor data mapped
 * from the file ({@link #tensor} copies a tensor's data into its Java arrays).
 *
 * <pre>
 *   magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
 *   kv_count x   (string key, u32 value type, value)
 *   tensor_count x (string name, u32 n_dims, u64 dims[n_dims], u32 ggml type, u64 offset)
 *   padding to general.alignment (default 32)
 *   tensor data: each tensor at data_start + offset, offsets aligned
 * </pre>
 *
 * Every count, length and offset is checked against the bytes actually in the file before
 * anything is allocated, so a truncated or hostile file fails with a {@link FormatException}
 * naming the file and the problem, never with an out-of-memory error or a hang.
 */
public final class GGUFFile {

    /** "GGUF" read as a little-endian u32. */
    static final int MAGIC = 0x46554747;
    static final int DEFAULT_ALIGNMENT = 32;
    /** Largest metadata array accepted (a vocabulary of 16 M entries). */
    static final long MAX_ARRAY = 1 << 24;
    /** Largest metadata string accepted (chat templates are kilobytes). */
    static final long MAX_STRING = 1 << 24;
    static final int MAX_DIMS = 4;

    private final Path path;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GGUFTensorInfo> tensors;
    private final long dataStart;
    private final long fileSize;
    private final int alignment;

    private GGUFFile(Path path, int version, Map<String, Object> metadata, Map<String, GGUFTensorInfo> tensors,
            long dataStart, long fileSize, int alignment) {
        this.path = path;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.dataStart = dataStart;
        this.fileSize = fileSize;
        this.alignment = alignment;
    }

    /** Reads the header and tensor table of a GGUF file and checks them against its size. */
    public static GGUFFile read(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return read(path, ch);
        } catch (FormatException e) {
            throw e;
        } catch (EOFException e) {
            throw new FormatException(path + ": truncated GGUF file (" + e.getMessage() + ")");
        }
    }

    private static GGUFFile read(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        Reader r = new Reader(ch, size, path);
        int magic = r.i32();
        if (magic != MAGIC) {
            throw new FormatException(path + ": not a GGUF file (magic " + String.format("0x%08x", magic) + ")");
        }
        int version = r.i32();
        if (version == 1) {
            throw new FormatException(path + ": GGUF version 1 is not supported; convert the file to version 3");
        }
        if (version != 2 && version != 3) {
            throw new FormatException(path + ": unsupported GGUF version " + Integer.toUnsignedString(version)
                    + (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3
                            ? " (a big-endian file?)" : ""));
        }
        long tensorCount = r.i64();
        long kvCount = r.i64();
        // each entry takes at least this many bytes: counts past what the file holds are lies
        if (tensorCount < 0 || tensorCount > r.remaining() / 24) {
            throw new FormatException(path + ": tensor count " + Long.toUnsignedString(tensorCount)
                    + " does not fit in a file of " + size + " bytes");
        }
        if (kvCount < 0 || kvCount > r.remaining() / 13) {
            throw new FormatException(path + ": metadata count " + Long.toUnsignedString(kvCount)
                    + " does not fit in a file of " + size + " bytes");
        }
        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = r.string("metadata key " + i);
            int typeId = r.i32();
            GGUFValueType type = GGUFValueType.fromId(typeId);
            if (type == null) {
                throw new FormatException(path + ": metadata " + key + " has unknown value type " + typeId);
            }
            Object value = r.value(type, key, 0);
            if (metadata.put(key, value) != null) {
                throw new FormatException(path + ": duplicate metadata key " + key);
            }
        }
        int alignment = DEFAULT_ALIGNMENT;
        Object a = metadata.get("general.alignment");
        if (a != null) {
            if (!(a instanceof Number n) || n.longValue() <= 0 || n.longValue() > (1 << 30)
                    || Long.bitCount(n.longValue()) != 1) {
                throw new FormatException(path + ": general.alignment must be a power of two, not " + a);
            }
            alignment = n.intValue();
        }
        Map<String, GGUFTensorInfo> tensors = new LinkedHashMap<>();
        List<GGUFTensorInfo> infos = new ArrayList<>((int) Math.min(tensorCount, 4096));
        for (long i = 0; i < tensorCount; i++) {
            String name = r.string("tensor name " + i);
            int nDims = r.i32();
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new FormatException(path + ": tensor " + name + " has " + Integer.toUnsignedString(nDims)
                        + " dimensions (1 to " + MAX_DIMS + " allowed)");
            }
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = r.i64();
                if (dims[d] <= 0) {
                    throw new FormatException(path + ": tensor " + name + " has dimension " + d + " of size "
                            + Long.toUnsignedString(dims[d]));
                }
                if (elements > Long.MAX_VALUE / dims[d]) {
                    throw new FormatException(path + ": tensor " + name + " has too many elements (overflow)");
                }
                elements *= dims[d];
            }
            int typeId = r.i32();
            GGMLType type;
            try {
                type = GGMLType.fromId(typeId);
            } catch (FormatException e) {
                throw new FormatException(path + ": tensor " + name + ": " + e.getMessage());
            }
            if (dims[0] % type.blockSize() != 0) {
                throw new FormatException(path + ": tensor " + name + " rows of " + dims[0]
                        + " elements are not whole " + type + " blocks of " + type.blockSize());
            }
            long offset = r.i64();
            if (offset < 0 || offset % alignment != 0) {
                throw new FormatException(path + ": tensor " + name + " offset " + Long.toUnsignedString(offset)
                        + " is not a multiple of the alignment " + alignment);
            }
            GGUFTensorInfo info = new GGUFTensorInfo(name, dims, type, offset);
            if (tensors.put(name, info) != null) {
                throw new FormatException(path + ": duplicate tensor " + name);
            }
            infos.add(info);
        }
        long headerEnd = r.position();
        long dataStart = tensorCount == 0 ? headerEnd : align(headerEnd, alignment);
        long dataSize = size - dataStart;
        for (GGUFTensorInfo t : infos) {
            long bytes = t.bytes();
            if (dataSize < 0 || t.offset() > dataSize || bytes > dataSize - t.offset()) {
                throw new FormatException(path + ": tensor " + t.name() + " (" + bytes + " bytes at offset "
                        + t.offset() + ") runs past the end of the file (" + Math.max(0, dataSize)
                        + " bytes of tensor data): truncated file?");
            }
        }
        return new GGUFFile(path, version, metadata, tensors, dataStart, size, alignment);
    }

    static long align(long x, int alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    /** The file. */
    public Path path() {
        return path;
    }

    /** The GGUF version (2 or 3). */
    public int version() {
        return version;
    }

    /** Byte offset where tensor data starts. */
    public long dataStart() {
        return dataStart;
    }

    /** The file's size. */
    public long fileSize() {
        return fileSize;
    }

    /** The alignment of tensor data. */
    public int alignment() {
        return alignment;
    }

    /**
     * All metadata, in file order. Values are {@code Integer}/{@code Long} (unsigned 32-bit values
     * as {@code Long}), {@code Float}, {@code Double}, {@code Boolean}, {@code String}, or for
     * arrays {@code int[]}, {@code long[]}, {@code float[]}, {@code double[]}, {@code boolean[]},
     * {@code String[]} or {@code Object[]} (arrays of arrays).
     */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /** The tensor table, in file order. */
    public Map<String, GGUFTensorInfo> tensorInfos() {
        return tensors;
    }

    /** A metadata string, or null. */
    public String string(String key) throws FormatException {
        Object v = metadata.get(key);
        if (v == null || v instanceof String) {
            return (String) v;
        }
        throw new FormatException(path + ": metadata " + key + " should be a string, is " + describe(v));
    }

    /** A metadata integer, or the default when absent. */
    public long integer(String key, long dflt) throws FormatException {
        Object v = metadata.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        throw new FormatException(path + ": metadata " + key + " should be an integer, is " + describe(v));
    }

    /** A metadata number, or the default when absent. */
    public double number(String key, double dflt) throws FormatException {
        Object v = metadata.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new FormatException(path + ": metadata " + key + " should be a number, is " + describe(v));
    }

    /** A metadata boolean, or the default when absent. */
    public boolean bool(String key, boolean dflt) throws FormatException {
        Object v = metadata.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof Number n) {
            return n.longValue() != 0;
        }
        throw new FormatException(path + ": metadata " + key + " should be a boolean, is " + describe(v));
    }

    /** A metadata array of the given Java array class, or null when absent. */
    public <T> T array(String key, Class<T> type) throws FormatException {
        Object v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (type.isInstance(v)) {
            return type.cast(v);
        }
        if (type == float[].class && v instanceof double[] d) {
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                f[i] = (float) d[i];
            }
            return type.cast(f);
        }
        if (type == int[].class && v instanceof long[] l) {
            int[] f = new int[l.length];
            for (int i = 0; i < l.length; i++) {
                f[i] = (int) l[i];
            }
            return type.cast(f);
        }
        throw new FormatException(path + ": metadata " + key + " should be " + type.getSimpleName() + ", is " + describe(v));
    }

    private static String describe(Object v) {
        return v.getClass().isArray() ? v.getClass().getComponentType().getSimpleName() + "[]" : v.getClass().getSimpleName();
    }

    /**
     * Reads a tensor's data (through a mapping that is dropped afterwards) into its encoding's
     * arrays, rows of {@code dims[0]} elements.
     *
     * @throws FormatException when there is no such tensor or it is larger than one mapping
     */
    public FloatTensor tensor(String name) throws IOException {
        GGUFTensorInfo info = tensors.get(name);
        if (info == null) {
            throw new FormatException(path + ": no tensor " + name);
        }
        return FloatTensor.of(info.type(), map(info), info.elements(),
                info.dims().length == 0 ? 1 : info.dims()[0]);
    }

    /** Maps the bytes of one tensor. */
    public ByteBuffer map(GGUFTensorInfo info) throws IOException {
        long bytes = info.bytes();
        if (bytes > Integer.MAX_VALUE) {
            throw new FormatException(path + ": tensor " + info.name() + " has " + bytes
                    + " bytes; tensors over 2 GiB are not supported by this engine");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (ch.size() != fileSize) {
                throw new FormatException(path + ": the file changed while it was being loaded");
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, dataStart + info.offset(), bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** Whether the path looks like a GGUF file (by its magic). */
    public static boolean isGGUF(Path path) {
        if (!Files.isRegularFile(path)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            return ch.read(b, 0) == 4 && b.getInt(0) == MAGIC;
        } catch (IOException e) {
            return false;
        }
    }

    /** Sequential little-endian reads of the header with every length checked against the file size. */
    private static final class Reader {
        private final FileChannel ch;
        private final long size;
        private final Path path;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long bufStart;

        Reader(FileChannel ch, long size, Path path) {
            this.ch = ch;
            this.size = size;
            this.path = path;
            buf.limit(0);
        }

        long position() {
            return bufStart + buf.position();
        }

        long remaining() {
            return size - position();
        }

        private void need(int n) throws IOException {
            if (buf.remaining() >= n) {
                return;
            }
            if (remaining() < n) {
                throw new FormatException(path + ": truncated GGUF header: " + n + " more bytes needed at offset "
                        + position() + ", file has " + size);
            }
            long pos = position();
            buf.compact();
            bufStart = pos;
            while (buf.position() < n) {
                int read = ch.read(buf, bufStart + buf.position());
                if (read < 0) {
                    throw new EOFException("at offset " + position());
                }
            }
            buf.flip();
        }

        int i32() throws IOException {
            need(4);
            return buf.getInt();
        }

        long i64() throws IOException {
            need(8);
            return buf.getLong();
        }

        byte i8() throws IOException {
            need(1);
            return buf.get();
        }

        short i16() throws IOException {
            need(2);
            return buf.getShort();
        }

        String string(String what) throws IOException {
            long len = i64();
            if (len < 0 || len > remaining() || len > MAX_STRING) {
                throw new FormatException(path + ": " + what + ": string length " + Long.toUnsignedString(len)
                        + " at offset " + (position() - 8) + " exceeds " + (len > MAX_STRING && len <= remaining()
                                ? "the limit of " + MAX_STRING + " bytes" : "the " + remaining() + " bytes left in the file"));
            }
            byte[] bytes = new byte[(int) len];
            int off = 0;
            while (off < bytes.length) {
                if (!buf.hasRemaining()) {
                    need(1);
                }
                int n = Math.min(buf.remaining(), bytes.length - off);
                buf.get(bytes, off, n);
                off += n;
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }

        Object value(GGUFValueType type, String key, int depth) throws IOException {
            switch (type) {
                case UINT8: return i8() & 0xFF;
                case INT8: return (int) i8();
                case UINT16: return i16() & 0xFFFF;
                case INT16: return (int) i16();
                case UINT32: return Integer.toUnsignedLong(i32());
                case INT32: return i32();
                case FLOAT32: return Float.intBitsToFloat(i32());
                case BOOL: {
                    byte b = i8();
                    if (b != 0 && b != 1) {
                        throw new FormatException(path + ": metadata " + key + ": boolean byte " + b);
                    }
                    return b != 0;
                }
                case STRING: return string("metadata " + key);
                case UINT64:
                case INT64: return i64();
                case FLOAT64: return Double.longBitsToDouble(i64());
                case ARRAY: return array(key, depth);
                default: throw new FormatException(path + ": metadata " + key + ": unknown type " + type);
            }
        }

        private Object array(String key, int depth) throws IOException {
            if (depth > 2) {
                throw new FormatException(path + ": metadata " + key + ": arrays nested too deep");
            }
            int typeId = i32();
            GGUFValueType et = GGUFValueType.fromId(typeId);
            if (et == null) {
                throw new FormatException(path + ": metadata " + key + ": array of unknown type " + typeId);
            }
            long n = i64();
            if (n < 0 || n > MAX_ARRAY || n * et.minBytes > remaining()) {
                throw new FormatException(path + ": metadata " + key + ": array of " + Long.toUnsignedString(n) + " "
                        + et + " values " + (n < 0 || n * et.minBytes > remaining()
                                ? "does not fit in the " + remaining() + " bytes left in the file"
                                : "exceeds the limit of " + MAX_ARRAY));
            }
            int len = (int) n;
            switch (et) {
                case UINT8, INT8, UINT16, INT16, INT32: {
                    int[] a = new int[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = ((Number) value(et, key, depth)).intValue();
                    }
                    return a;
                }
                case UINT32, UINT64, INT64: {
                    long[] a = new long[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = ((Number) value(et, key, depth)).longValue();
                    }
                    return a;
                }
                case FLOAT32: {
                    float[] a = new float[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = Float.intBitsToFloat(i32());
                    }
                    return a;
                }
                case FLOAT64: {
                    double[] a = new double[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = Double.longBitsToDouble(i64());
                    }
                    return a;
                }
                case BOOL: {
                    boolean[] a = new boolean[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = (Boolean) value(et, key, depth);
                    }
                    return a;
                }
                case STRING: {
                    String[] a = new String[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = string("metadata " + key + "[" + i + "]");
                    }
                    return a;
                }
                default: {
                    Object[] a = new Object[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = array(key, depth + 1);
                    }
                    return a;
                }
            }
        }
    }
}
