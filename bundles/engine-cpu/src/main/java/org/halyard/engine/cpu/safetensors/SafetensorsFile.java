package org.halyard.engine.cpu.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.FormatException;
import org.halyard.engine.cpu.tensor.GGMLType;

/**
 * A safetensors file: a little-endian u64 header length, a JSON header, then raw tensor bytes.
 *
 * <pre>
 *   | u64 n | n bytes of JSON: {"name": {"dtype", "shape": [rows, cols], "data_offsets": [b, e]}, ...,
 *   |       |                  "__metadata__": {string: string}}           | data ... |
 * </pre>
 *
 * Shapes are outermost first (PyTorch order). Every entry is checked against the file before any
 * tensor is mapped: known dtype, non-negative shape, offsets inside the data and exactly as long
 * as the shape says.
 */
public final class SafetensorsFile {

    /** Largest JSON header accepted. */
    static final long MAX_HEADER = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor's header entry. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {

        public Entry {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** Elements. */
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape);
        }
    }

    private final Path path;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private final long dataStart;
    private final long fileSize;

    private SafetensorsFile(Path path, Map<String, Entry> entries, Map<String, String> metadata, long dataStart,
            long fileSize) {
        this.path = path;
        this.entries = Collections.unmodifiableMap(entries);
        this.metadata = Collections.unmodifiableMap(metadata);
        this.dataStart = dataStart;
        this.fileSize = fileSize;
    }

    /** Reads and checks the header. */
    public static SafetensorsFile read(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new FormatException(path + ": not a safetensors file (" + size + " bytes)");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            long n = len.getLong(0);
            if (n < 2 || n > MAX_HEADER || n > size - 8) {
                throw new FormatException(path + ": safetensors header length " + Long.toUnsignedString(n)
                        + (n > size - 8 || n < 0 ? " runs past the end of the file (" + size + " bytes)"
                                : " is outside [2, " + MAX_HEADER + "]"));
            }
            ByteBuffer header = ByteBuffer.allocate((int) n);
            readFully(ch, header, 8);
            JsonNode root;
            try {
                // the format says UTF-8: decode it as such rather than let the parser guess
                // (a header that looks like UTF-32 made Jackson throw a CharConversionException; fuzzing found it)
                root = JSON.readTree(new String(header.array(), java.nio.charset.StandardCharsets.UTF_8));
            } catch (JsonProcessingException e) {
                throw new FormatException(path + ": the safetensors header is not valid JSON: " + e.getOriginalMessage());
            } catch (IOException e) {
                throw new FormatException(path + ": the safetensors header is not valid JSON: " + e.getMessage());
            }
            if (root == null || !root.isObject()) {
                throw new FormatException(path + ": the safetensors header is not a JSON object");
            }
            long dataStart = 8 + n;
            long dataSize = size - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String name = f.getKey();
                JsonNode v = f.getValue();
                if (name.equals("__metadata__")) {
                    if (!v.isObject()) {
                        throw new FormatException(path + ": __metadata__ is not an object");
                    }
                    v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.put(name, entry(path, name, v, dataSize));
            }
            return new SafetensorsFile(path, entries, metadata, dataStart, size);
        }
    }

    private static Entry entry(Path path, String name, JsonNode v, long dataSize) throws FormatException {
        if (!v.isObject() || !v.path("dtype").isTextual() || !v.path("shape").isArray()
                || !v.path("data_offsets").isArray() || v.path("data_offsets").size() != 2) {
            throw new FormatException(path + ": tensor " + name + ": header entry needs dtype, shape and data_offsets [begin, end]");
        }
        String dtype = v.get("dtype").asText();
        int width = dtypeBytes(dtype);
        if (width < 0) {
            throw new FormatException(path + ": tensor " + name + ": unknown dtype " + dtype);
        }
        JsonNode sh = v.get("shape");
        if (sh.size() > 8) {
            throw new FormatException(path + ": tensor " + name + ": " + sh.size() + " dimensions");
        }
        long[] shape = new long[sh.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new FormatException(path + ": tensor " + name + ": bad dimension " + d);
            }
            shape[i] = d.asLong();
            if (shape[i] != 0 && elements > Long.MAX_VALUE / width / shape[i]) {
                throw new FormatException(path + ": tensor " + name + ": shape " + sh + " overflows");
            }
            elements *= shape[i];
        }
        JsonNode off = v.get("data_offsets");
        if (!off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new FormatException(path + ": tensor " + name + ": data_offsets must be integers");
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataSize) {
            throw new FormatException(path + ": tensor " + name + ": data_offsets [" + begin + ", " + end
                    + "] are outside the " + dataSize + " bytes of data: truncated file?");
        }
        if (end - begin != elements * width) {
            throw new FormatException(path + ": tensor " + name + ": " + (end - begin) + " bytes for a " + dtype
                    + " tensor of shape " + sh + " (" + elements * width + " expected)");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static int dtypeBytes(String dtype) {
        return switch (dtype) {
            case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3" -> 1;
            case "I16", "U16", "F16", "BF16" -> 2;
            case "I32", "U32", "F32" -> 4;
            case "I64", "U64", "F64" -> 8;
            default -> -1;
        };
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) {
                throw new FormatException("unexpected end of file");
            }
        }
        b.flip();
    }

    public Path path() {
        return path;
    }

    /** The tensors' header entries, in file order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** The {@code __metadata__} strings. */
    public Map<String, String> metadata() {
        return metadata;
    }

    public long fileSize() {
        return fileSize;
    }

    /** Maps one tensor; only F32, F16 and BF16 tensors can be computed with. */
    public FloatTensor tensor(String name) throws IOException {
        Entry e = entries.get(name);
        if (e == null) {
            throw new FormatException(path + ": no tensor " + name);
        }
        GGMLType type = switch (e.dtype()) {
            case "F32" -> GGMLType.F32;
            case "F16" -> GGMLType.F16;
            case "BF16" -> GGMLType.BF16;
            default -> throw new FormatException(path + ": tensor " + name + " has dtype " + e.dtype()
                    + "; weights must be F32, F16 or BF16");
        };
        long bytes = e.end() - e.begin();
        if (bytes > Integer.MAX_VALUE) {
            throw new FormatException(path + ": tensor " + name + " has " + bytes
                    + " bytes; tensors over 2 GiB are not supported by this engine");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (ch.size() != fileSize) {
                throw new FormatException(path + ": the file changed while it was being loaded");
            }
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), bytes);
            long[] shape = e.shape();
            long cols = shape.length == 0 ? 1 : shape[shape.length - 1];
            return FloatTensor.of(type, b, e.elements(), Math.max(1, cols));
        }
    }
}
