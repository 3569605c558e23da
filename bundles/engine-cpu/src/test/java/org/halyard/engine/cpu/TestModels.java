package org.halyard.engine.cpu;

import java.io.IOException;
import java.nio.file.Path;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.gguf.GGUFTensorInfo;
import org.halyard.engine.cpu.gguf.GGUFWriter;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.GGMLType;

/** Builds GGUF files for tests: re-encodings of the demo model and tiny random models. */
public final class TestModels {

    private TestModels() {
    }

    /**
     * Re-encodes a GGUF model: weight matrices (except the router, kept F32 as llama.cpp does) in
     * {@code type}; norms and the embedding in F32.
     */
    public static Path convert(Path src, Path dst, GGMLType type) throws IOException {
        GGUFFile f = GGUFFile.read(src);
        GGUFWriter w = new GGUFWriter().metadataFrom(f, k -> !k.equals("general.alignment"));
        for (GGUFTensorInfo t : f.tensorInfos().values()) {
            FloatTensor data = f.tensor(t.name());
            boolean matrix = t.rank() >= 2 && !t.name().equals("token_embd.weight")
                    && !t.name().contains("ffn_gate_inp");
            w.tensor(t.name(), matrix ? type : GGMLType.F32, t.dims(), data::getFloat);
        }
        w.write(dst);
        return dst;
    }
}
