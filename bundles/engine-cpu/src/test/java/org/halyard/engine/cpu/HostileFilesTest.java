package org.halyard.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.halyard.engine.api.ModelLoadException;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.safetensors.SafetensorsFile;
import org.halyard.engine.cpu.tensor.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed, truncated and hostile model files fail with an error that names the file and the
 * problem: no hang, no out-of-memory error, no model.
 */
class HostileFilesTest {

    @TempDir
    Path tmp;

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** A GGUF header: magic, version, tensor count, metadata count, then {@code rest}. */
    private static byte[] gguf(int version, long tensors, long kvs, byte[] rest) {
        ByteBuffer b = ByteBuffer.allocate(24 + rest.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x46554747).putInt(version).putLong(tensors).putLong(kvs).put(rest);
        return b.array();
    }

    private static byte[] kv(String key, int type, byte[] value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + k.length + 4 + value.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(k.length).put(k).putInt(type).put(value);
        return b.array();
    }

    private static byte[] le(long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return b.array();
    }

    private void ggufFails(String name, byte[] bytes, String expected) throws IOException {
        Path p = write(name, bytes);
        FormatException e = assertThrows(FormatException.class, () -> GGUFFile.read(p), name);
        assertTrue(e.getMessage().contains(p.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), name + ": " + e.getMessage());
        ModelLoadException m = assertThrows(ModelLoadException.class, () -> Fixtures.load(p));
        // without the magic the loader does not take it for GGUF at all
        String what = expected.equals("not a GGUF") ? "neither a GGUF file" : expected;
        assertTrue(m.getMessage().contains(what), m.getMessage());
    }

    @Test
    void ggufHeadersThatLie() throws Exception {
        ggufFails("magic.gguf", "GGUX0000000000000000000000000000".getBytes(StandardCharsets.US_ASCII), "not a GGUF");
        ggufFails("v1.gguf", gguf(1, 0, 0, new byte[0]), "version 1");
        ggufFails("v9.gguf", gguf(9, 0, 0, new byte[0]), "unsupported GGUF version 9");
        ggufFails("big-endian.gguf", gguf(0x03000000, 0, 0, new byte[0]), "big-endian");
        ggufFails("tensors.gguf", gguf(3, Long.MAX_VALUE, 0, new byte[64]), "tensor count");
        ggufFails("negative.gguf", gguf(3, -1, 0, new byte[64]), "tensor count");
        ggufFails("kvs.gguf", gguf(3, 0, 1L << 40, new byte[64]), "metadata count");
        ggufFails("short.gguf", Arrays.copyOf(gguf(3, 0, 0, new byte[0]), 12), "truncated");
        // a string that claims more bytes than the file has
        ggufFails("string.gguf", gguf(3, 0, 1, kv("general.name", 8, le(1L << 50))), "string length");
        // an array of 2^40 floats
        byte[] arr = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(6).putLong(1L << 40).array();
        ggufFails("array.gguf", gguf(3, 0, 1, kv("tokenizer.ggml.scores", 9, arr)), "array of");
        ggufFails("type.gguf", gguf(3, 0, 1, kv("x", 99, new byte[8])), "unknown value type 99");
        ggufFails("alignment.gguf", gguf(3, 0, 1, kv("general.alignment", 4,
                ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(3).array())), "alignment");
    }

    /** A file with one tensor info: name, dims, type, offset. */
    private static byte[] oneTensor(long[] dims, int type, long offset, int dataBytes) {
        byte[] name = "w".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + name.length + 4 + 8 * dims.length + 4 + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(name.length).put(name).putInt(dims.length);
        for (long d : dims) {
            b.putLong(d);
        }
        b.putInt(type).putLong(offset);
        byte[] header = gguf(3, 1, 0, b.array());
        int padded = (header.length + 31) / 32 * 32;
        return Arrays.copyOf(header, padded + dataBytes);
    }

    @Test
    void ggufTensorTablesThatLie() throws Exception {
        ggufFails("past-end.gguf", oneTensor(new long[] {32, 32}, 0, 0, 100), "runs past the end");
        ggufFails("offset.gguf", oneTensor(new long[] {32}, 0, 1L << 40, 128), "runs past the end");
        ggufFails("unaligned.gguf", oneTensor(new long[] {32}, 0, 7, 256), "alignment");
        ggufFails("unknown-type.gguf", oneTensor(new long[] {32}, 12, 0, 256), "unsupported tensor type id 12 (Q4_K)");
        ggufFails("bad-type.gguf", oneTensor(new long[] {32}, 1000, 0, 256), "unsupported tensor type id 1000");
        ggufFails("dims.gguf", oneTensor(new long[] {1, 1, 1, 1, 1}, 0, 0, 256), "dimensions");
        ggufFails("zero.gguf", oneTensor(new long[] {0}, 0, 0, 256), "dimension 0 of size 0");
        ggufFails("overflow.gguf", oneTensor(new long[] {1L << 40, 1L << 40}, 0, 0, 256), "overflow");
        ggufFails("blocks.gguf", oneTensor(new long[] {33}, 8, 0, 256), "not whole Q8_0 blocks");
    }

    @Test
    void truncatedRealModelFailsAndAWholeOneLoads() throws Exception {
        byte[] whole = Files.readAllBytes(Fixtures.demoQ8());
        for (int cut : new int[] {10, 1000, 30000, whole.length / 2, whole.length - 1}) {
            Path p = write("cut-" + cut + ".gguf", Arrays.copyOf(whole, cut));
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> Fixtures.load(p), "cut at " + cut);
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        }
        assertTrue(Fixtures.load(write("whole.gguf", whole)).info().parameters() > 1_000_000);
    }

    @Test
    void ggufModelsWithMissingOrMisshapenTensors() throws Exception {
        // metadata of the demo model, tensors of another shape: a tiny generated model's
        GGUFFile demo = GGUFFile.read(Fixtures.demoF32());
        Path p = tmp.resolve("missing.gguf");
        org.halyard.engine.cpu.gguf.GGUFWriter w = new org.halyard.engine.cpu.gguf.GGUFWriter()
                .metadataFrom(demo, k -> true);
        for (var t : demo.tensorInfos().values()) {
            if (!t.name().equals("blk.2.attn_k.weight")) {
                w.tensor(t.name(), t.type(), t.dims(), i -> 0f);
            }
        }
        w.write(p);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Fixtures.load(p));
        assertTrue(e.getMessage().contains("missing tensor blk.2.attn_k.weight"), e.getMessage());

        Path q = tmp.resolve("misshapen.gguf");
        w = new org.halyard.engine.cpu.gguf.GGUFWriter().metadataFrom(demo, k -> true);
        for (var t : demo.tensorInfos().values()) {
            long[] dims = t.name().equals("blk.1.attn_q.weight") ? new long[] {128, 96} : t.dims();
            w.tensor(t.name(), t.type(), dims, i -> 0f);
        }
        w.write(q);
        e = assertThrows(ModelLoadException.class, () -> Fixtures.load(q));
        assertTrue(e.getMessage().contains("blk.1.attn_q.weight has shape [96, 128], [128, 128] expected"), e.getMessage());

        Path arch = tmp.resolve("arch.gguf");
        new org.halyard.engine.cpu.gguf.GGUFWriter().metadataFrom(demo, k -> true).string("general.architecture", "bert")
                .tensor("token_embd.weight", org.halyard.engine.cpu.tensor.GGMLType.F32, new long[] {128, 1024}, i -> 0f)
                .write(arch);
        e = assertThrows(ModelLoadException.class, () -> Fixtures.load(arch));
        assertTrue(e.getMessage().contains("architecture 'bert' is not supported"), e.getMessage());
    }

    private void safetensorsFails(String name, String header, int dataBytes, String expected) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = write(name, b.array());
        FormatException e = assertThrows(FormatException.class, () -> SafetensorsFile.read(p), name);
        assertTrue(e.getMessage().contains(expected), name + ": " + e.getMessage());
    }

    @Test
    void safetensorsHeadersThatLie() throws Exception {
        Path tooLong = write("len.safetensors", le(1L << 40));
        assertTrue(assertThrows(FormatException.class, () -> SafetensorsFile.read(tooLong)).getMessage()
                .contains("runs past the end"));
        Path tiny = write("tiny.safetensors", new byte[3]);
        assertThrows(FormatException.class, () -> SafetensorsFile.read(tiny));
        safetensorsFails("json.safetensors", "{\"a\": [", 0, "not valid JSON");
        safetensorsFails("array.safetensors", "[1, 2, 3]", 0, "not a JSON object");
        safetensorsFails("dtype.safetensors", "{\"w\": {\"dtype\": \"F99\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8,
                "unknown dtype F99");
        safetensorsFails("offsets.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 800]}}",
                8, "outside");
        safetensorsFails("size.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
                "8 bytes for a F32 tensor of shape [3]");
        safetensorsFails("shape.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 8,
                "bad dimension");
        safetensorsFails("overflow.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 8],"
                + " \"data_offsets\": [0, 8]}}", 8, "overflows");
        safetensorsFails("entry.safetensors", "{\"w\": 5}", 0, "needs dtype");
        // a tensor whose dtype the engine cannot compute with is rejected when used, by name
        byte[] h = "{\"w\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        Path i64 = write("i64.safetensors", b.array());
        assertTrue(assertThrows(FormatException.class, () -> SafetensorsFile.read(i64).tensor("w")).getMessage()
                .contains("dtype I64"));
    }

    @Test
    void checkpointDirectoriesWithBadPieces() throws Exception {
        Path dir = tmp.resolve("ck");
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors")) {
            Files.copy(Fixtures.checkpoint().resolve(f), dir.resolve(f));
        }
        assertTrue(Fixtures.load(dir).info().isMixtureOfExperts());
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"GPT2LMHeadModel\"]}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Fixtures.load(dir));
        assertTrue(e.getMessage().contains("GPT2LMHeadModel"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": -4}");
        e = assertThrows(ModelLoadException.class, () -> Fixtures.load(dir));
        assertTrue(e.getMessage().contains("hidden_size"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{ nope");
        e = assertThrows(ModelLoadException.class, () -> Fixtures.load(dir));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
        // an overlay of the wrong shape
        Files.copy(Fixtures.checkpoint().resolve("config.json"), dir.resolve("config.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        byte[] h = "{\"model.layers.0.block_sparse_moe.gate.weight\": {\"dtype\": \"F32\", \"shape\": [2, 128], \"data_offsets\": [0, 1024]}}"
                .getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 1024).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        Files.write(dir.resolve("bad-router.safetensors"), b.array());
        e = assertThrows(ModelLoadException.class, () -> Fixtures.load(dir, null, List.of(Path.of("bad-router.safetensors")),
                org.halyard.engine.cpu.kernel.Parallel.SERIAL));
        assertTrue(e.getMessage().contains("has shape [2, 128], the model's is [4, 128]"), e.getMessage());
        e = assertThrows(ModelLoadException.class, () -> Fixtures.load(tmp.resolve("nothing-here")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        e = assertThrows(ModelLoadException.class, () -> Fixtures.load(dir.resolve("model.safetensors")));
        assertTrue(e.getMessage().contains("checkpoint directory"), e.getMessage());
    }
}
