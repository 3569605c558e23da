package org.halyard.engine.cpu.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.halyard.engine.api.StreamDecoder;
import org.halyard.engine.api.Tokenizer;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.gguf.GGUFTensorInfo;
import org.halyard.engine.cpu.safetensors.SafetensorsFile;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.FormatException;
import org.halyard.engine.cpu.tokenizer.Tokenizers;

/**
 * Fuzz targets for the parsers of untrusted files: GGUF, safetensors and tokenizer.json. Any
 * input may be rejected with a {@link FormatException}; anything else (another exception, an
 * out-of-memory error, a hang) is a bug.
 *
 * <p>In the normal build these run as regression tests over the seeds in
 * {@code src/test/resources/org/halyard/engine/cpu/fuzz/ParserFuzzTestInputs/<method>/}. To fuzz
 * for real (findings are written next to the seeds):
 *
 * <pre>
 *   JAZZER_FUZZ=1 ./mvnw -B test -pl bundles/engine-cpu -am -Dfuzzing -Dtest=ParserFuzzTest#gguf \
 *       -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * Each target runs for its {@code maxDuration}.
 */
class ParserFuzzTest {

    private static Path temp(String suffix, byte[] data) throws IOException {
        Path p = Files.createTempFile("fuzz", suffix);
        Files.write(p, data);
        return p;
    }

    @FuzzTest(maxDuration = "60s")
    void gguf(byte[] data) throws IOException {
        Path p = temp(".gguf", data);
        try {
            GGUFFile f = GGUFFile.read(p);
            for (GGUFTensorInfo t : f.tensorInfos().values()) {
                FloatTensor tensor = f.tensor(t.name());
                tensor.getFloat(0);
                tensor.getFloat(tensor.size() - 1);
            }
            try {
                Tokenizer tok = Tokenizers.fromGGUF(f).tokenizer();
                exercise(tok);
            } catch (FormatException expected) {
                // not a usable tokenizer
            }
        } catch (FormatException expected) {
            // rejected with a message: fine
        } finally {
            Files.deleteIfExists(p);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void safetensors(byte[] data) throws IOException {
        Path p = temp(".safetensors", data);
        try {
            SafetensorsFile f = SafetensorsFile.read(p);
            for (SafetensorsFile.Entry e : f.entries().values()) {
                try {
                    FloatTensor t = f.tensor(e.name());
                    if (t.size() > 0) {
                        t.getFloat(t.size() - 1);
                    }
                } catch (FormatException expected) {
                    // a dtype the engine does not compute with
                }
            }
        } catch (FormatException expected) {
            // rejected with a message: fine
        } finally {
            Files.deleteIfExists(p);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void tokenizerJson(byte[] data) {
        try {
            Tokenizer tok = Tokenizers.fromHuggingFaceJson(Path.of("tokenizer.json"), data, null).tokenizer();
            exercise(tok);
        } catch (FormatException expected) {
            // rejected with a message: fine
        }
    }

    /** Encodes, decodes and streams a few texts: nothing may throw. */
    private static void exercise(Tokenizer tok) {
        for (String text : new String[] {"", "Hello world", " a  b\n\n", "héllo 🙂 日本 12345", "<s></s><|endoftext|>"}) {
            int[] ids = tok.encode(text, true, true);
            tok.decode(ids, true);
            tok.decode(ids, false);
            StreamDecoder d = tok.streamDecoder(false);
            for (int id : ids) {
                d.next(id);
            }
            d.flush();
        }
    }
}
