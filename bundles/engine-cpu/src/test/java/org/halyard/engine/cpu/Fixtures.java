package org.halyard.engine.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelLoadException;
import org.halyard.engine.api.ModelSource;
import org.halyard.engine.api.SampledToken;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.engine.cpu.kernel.Parallel;

/** The demo model's files in the repository, and a greedy generation loop over a model. */
public final class Fixtures {

    private Fixtures() {
    }

    /** The repository root (the surefire property {@code halyard.root}, else found from the working directory). */
    public static Path root() {
        String r = System.getProperty("halyard.root");
        if (r != null && !r.isBlank()) {
            return Path.of(r);
        }
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !p.resolve("models").toFile().isDirectory()) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository root (set -Dhalyard.root)");
        }
        return p;
    }

    public static Path demoDir() {
        return root().resolve("models/halyard-shakespeare-moe");
    }

    public static Path demoF32() {
        return demoDir().resolve("halyard-shakespeare-moe-f32.gguf");
    }

    public static Path demoQ8() {
        return demoDir().resolve("halyard-shakespeare-moe-q8_0.gguf");
    }

    public static Path checkpoint() {
        return demoDir().resolve("checkpoint");
    }

    public static JsonNode references() {
        try {
            return new ObjectMapper().readTree(demoDir().resolve("reference-outputs.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Model load(Path path) throws ModelLoadException {
        return ModelLoader.load(ModelSource.of("test", path), Parallel.SERIAL);
    }

    public static Model load(Path path, Path weights, List<Path> overlays, Parallel parallel) throws ModelLoadException {
        return ModelLoader.load(new ModelSource("test", path, weights, overlays, Map.of()), parallel);
    }

    public static int[] ints(JsonNode array) {
        int[] a = new int[array.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = array.get(i).asInt();
        }
        return a;
    }

    public static float[] floats(JsonNode array) {
        float[] a = new float[array.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) array.get(i).asDouble();
        }
        return a;
    }

    /** What a greedy run produced: the prompt's last logits and the continuation. */
    public record Run(float[] promptLogits, int[] tokens) {
    }

    /**
     * Prefills the prompt in one step, then decodes one token a step until an end-of-sequence
     * token (included) or {@code max} tokens, committing KV slots after each step as a scheduler does.
     */
    public static Run greedy(Model model, int[] prompt, int max) {
        TestSequence seq = new TestSequence(prompt);
        TestKv kv = new TestKv("greedy", model.kvLayout(), prompt.length + max + 1);
        StepResult r = model.step(List.of(new StepEntry(seq, kv, 0, prompt.length, true, true)));
        kv.commit(prompt, 0, prompt.length);
        float[] logits = r.logits(0);
        List<Integer> out = new ArrayList<>();
        int[] eos = model.tokenizer().eos();
        SampledToken s = r.sample(0);
        while (true) {
            out.add(s.token());
            seq.append(s.token());
            if (out.size() >= max || contains(eos, s.token())) {
                break;
            }
            int pos = seq.length() - 1;
            r = model.step(List.of(StepEntry.sampling(seq, kv, pos, 1)));
            kv.commit(new int[] {seq.token(pos)}, 0, 1);
            s = r.sample(0);
        }
        return new Run(logits, out.stream().mapToInt(Integer::intValue).toArray());
    }

    static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    public static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths " + a.length + " and " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
