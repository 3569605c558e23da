package org.halyard.engine.cpu.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.halyard.engine.cpu.kernel.Float16;
import org.halyard.engine.cpu.tensor.GGMLType;

/**
 * Writes GGUF version 3 files: typed metadata, then tensors whose values come from a function of
 * the element index, encoded (and quantised) while they stream to disk, so a file of any size is
 * written in constant memory. Used by {@code make-test-model} and by tests that build small
 * models.
 */
public final class GGUFWriter {

    /** Element values of a tensor being written, by flat index (GGML order). */
    @FunctionalInterface
    public interface Values {
        float get(long index);
    }

    private record Entry(GGUFValueType type, GGUFValueType elementType, Object value) {
    }

    private record Tensor(String name, long[] dims, GGMLType type, Values values) {
        long elements() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private int alignment = GGUFFile.DEFAULT_ALIGNMENT;

    /**
     * Copies metadata from another file (unsigned 32-bit integers stay UINT32, signed INT32; 64-bit
     * integers and doubles are not copied). Keys given later replace copied ones.
     */
    public GGUFWriter metadataFrom(GGUFFile f, java.util.function.Predicate<String> keep) {
        for (Map.Entry<String, Object> e : f.metadata().entrySet()) {
            String k = e.getKey();
            Object v = e.getValue();
            if (!keep.test(k)) {
                continue;
            }
            if (v instanceof String s) {
                string(k, s);
            } else if (v instanceof Long l && l >= 0 && l <= 0xFFFFFFFFL) {
                u32(k, l);
            } else if (v instanceof Integer i) {
                i32(k, i);
            } else if (v instanceof Float x) {
                f32(k, x);
            } else if (v instanceof Boolean b) {
                bool(k, b);
            } else if (v instanceof String[] a) {
                strings(k, a);
            } else if (v instanceof float[] a) {
                f32s(k, a);
            } else if (v instanceof int[] a) {
                i32s(k, a);
            }
        }
        return this;
    }

    public GGUFWriter string(String key, String value) {
        metadata.put(key, new Entry(GGUFValueType.STRING, null, value));
        return this;
    }

    public GGUFWriter u32(String key, long value) {
        if (key.equals("general.alignment")) {
            alignment = (int) value;
        }
        metadata.put(key, new Entry(GGUFValueType.UINT32, null, value));
        return this;
    }

    public GGUFWriter i32(String key, int value) {
        metadata.put(key, new Entry(GGUFValueType.INT32, null, value));
        return this;
    }

    public GGUFWriter f32(String key, float value) {
        metadata.put(key, new Entry(GGUFValueType.FLOAT32, null, value));
        return this;
    }

    public GGUFWriter bool(String key, boolean value) {
        metadata.put(key, new Entry(GGUFValueType.BOOL, null, value));
        return this;
    }

    public GGUFWriter strings(String key, String[] values) {
        metadata.put(key, new Entry(GGUFValueType.ARRAY, GGUFValueType.STRING, values.clone()));
        return this;
    }

    public GGUFWriter f32s(String key, float[] values) {
        metadata.put(key, new Entry(GGUFValueType.ARRAY, GGUFValueType.FLOAT32, values.clone()));
        return this;
    }

    public GGUFWriter i32s(String key, int[] values) {
        metadata.put(key, new Entry(GGUFValueType.ARRAY, GGUFValueType.INT32, values.clone()));
        return this;
    }

    /**
     * Adds a tensor.
     *
     * @param dims GGML order: {@code {cols, rows}} for a matrix {@code W[rows][cols]}
     */
    public GGUFWriter tensor(String name, GGMLType type, long[] dims, Values values) {
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException(name + ": rows of " + dims[0] + " are not whole " + type + " blocks");
        }
        tensors.add(new Tensor(name, dims.clone(), type, values));
        return this;
    }

    /** Adds a tensor from an array (GGML order). */
    public GGUFWriter tensor(String name, GGMLType type, long[] dims, float[] values) {
        return tensor(name, type, dims, i -> values[(int) i]);
    }

    /**
     * {@code values} encoded as a tensor of {@code type} would be in a file (quantised with GGML's
     * reference rounding), in a little-endian buffer: for tests and benchmarks.
     */
    public static ByteBuffer encode(GGMLType type, float[] values) {
        if (values.length % type.blockSize() != 0) {
            throw new IllegalArgumentException(values.length + " values are not whole " + type + " blocks");
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try {
            Out out = new Out(Channels.newChannel(bytes));
            writeData(out, new Tensor("encoded", new long[] {values.length}, type, i -> values[(int) i]));
            out.flush();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return ByteBuffer.wrap(bytes.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Writes the file (to a temporary name first, so a failure leaves no partial file behind). */
    public void write(Path path) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            Out out = new Out(ch);
            out.i32(GGUFFile.MAGIC);
            out.i32(3);
            out.i64(tensors.size());
            out.i64(metadata.size());
            for (Map.Entry<String, Entry> e : metadata.entrySet()) {
                out.string(e.getKey());
                out.i32(e.getValue().type().ordinal());
                writeValue(out, e.getValue());
            }
            long offset = 0;
            List<Long> offsets = new ArrayList<>();
            for (Tensor t : tensors) {
                out.string(t.name());
                out.i32(t.dims().length);
                for (long d : t.dims()) {
                    out.i64(d);
                }
                out.i32(t.type().id());
                out.i64(offset);
                offsets.add(offset);
                offset = GGUFFile.align(offset + t.type().bytes(t.elements()), alignment);
            }
            out.pad(alignment);
            long dataStart = out.position();
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                out.padTo(dataStart + offsets.get(i));
                writeData(out, t);
            }
            out.pad(alignment);
            out.flush();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void writeValue(Out out, Entry e) throws IOException {
        switch (e.type()) {
            case STRING -> out.string((String) e.value());
            case UINT32 -> out.i32((int) (long) (Long) e.value());
            case INT32 -> out.i32((Integer) e.value());
            case FLOAT32 -> out.i32(Float.floatToRawIntBits((Float) e.value()));
            case BOOL -> out.i8((Boolean) e.value() ? 1 : 0);
            case ARRAY -> {
                out.i32(e.elementType().ordinal());
                switch (e.elementType()) {
                    case STRING -> {
                        String[] a = (String[]) e.value();
                        out.i64(a.length);
                        for (String s : a) {
                            out.string(s);
                        }
                    }
                    case FLOAT32 -> {
                        float[] a = (float[]) e.value();
                        out.i64(a.length);
                        for (float f : a) {
                            out.i32(Float.floatToRawIntBits(f));
                        }
                    }
                    case INT32 -> {
                        int[] a = (int[]) e.value();
                        out.i64(a.length);
                        for (int v : a) {
                            out.i32(v);
                        }
                    }
                    default -> throw new IllegalStateException(e.elementType().toString());
                }
            }
            default -> throw new IllegalStateException(e.type().toString());
        }
    }

    private static void writeData(Out out, Tensor t) throws IOException {
        long n = t.elements();
        Values v = t.values();
        switch (t.type()) {
            case F32 -> {
                for (long i = 0; i < n; i++) {
                    out.i32(Float.floatToRawIntBits(v.get(i)));
                }
            }
            case F16 -> {
                for (long i = 0; i < n; i++) {
                    out.i16(Float16.fromFloat(v.get(i)));
                }
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) {
                    out.i16(Float16.bf16FromFloat(v.get(i)));
                }
            }
            case Q8_0 -> {
                float[] block = new float[32];
                for (long b = 0; b < n; b += 32) {
                    for (int j = 0; j < 32; j++) {
                        block[j] = v.get(b + j);
                    }
                    quantizeQ8_0(block, out);
                }
            }
            case Q4_0 -> {
                float[] block = new float[32];
                for (long b = 0; b < n; b += 32) {
                    for (int j = 0; j < 32; j++) {
                        block[j] = v.get(b + j);
                    }
                    quantizeQ4_0(block, out);
                }
            }
        }
    }

    /** GGML's reference Q8_0 quantisation: {@code d = max|x| / 127}, {@code q = round(x / d)}. */
    private static void quantizeQ8_0(float[] x, Out out) throws IOException {
        float amax = 0;
        for (float f : x) {
            amax = Math.max(amax, Math.abs(f));
        }
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        short dh = Float16.fromFloat(d);
        out.i16(dh);
        for (float f : x) {
            out.i8(Math.round(f * id));
        }
    }

    /** GGML's reference Q4_0 quantisation: {@code d = max / -8} for the value of largest magnitude. */
    private static void quantizeQ4_0(float[] x, Out out) throws IOException {
        float amax = 0;
        float max = 0;
        for (float f : x) {
            if (Math.abs(f) > amax) {
                amax = Math.abs(f);
                max = f;
            }
        }
        float d = max / -8f;
        float id = d != 0 ? 1f / d : 0f;
        out.i16(Float16.fromFloat(d));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[j + 16] * id + 8.5f));
            out.i8(lo | (hi << 4));
        }
    }

    /** Buffered little-endian output. */
    private static final class Out {
        private final WritableByteChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Out(WritableByteChannel ch) {
            this.ch = ch;
        }

        long position() {
            return written + buf.position();
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                written += ch.write(buf);
            }
            buf.clear();
        }

        void i8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
        }

        void i16(short v) throws IOException {
            room(2);
            buf.putShort(v);
        }

        void i32(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void i64(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            for (byte x : b) {
                i8(x);
            }
        }

        void pad(int alignment) throws IOException {
            padTo(GGUFFile.align(position(), alignment));
        }

        void padTo(long pos) throws IOException {
            while (position() < pos) {
                i8(0);
            }
        }
    }
}
