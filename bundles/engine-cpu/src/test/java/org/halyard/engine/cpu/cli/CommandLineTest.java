package org.halyard.engine.cpu.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.cpu.Fixtures;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.PagedKvCacheManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: output formats, generation with stops, test models, errors. */
class CommandLineTest {

    @TempDir
    Path tmp;

    private record Ran(int status, String out, String err) {
    }

    private static Ran run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new Main(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Ran(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void tokenizePrintsAJsonArrayWithOrWithoutBos() {
        String gguf = Fixtures.demoF32().toString();
        Ran r = run("tokenize", "--model", gguf, "KING RICHARD II:");
        assertEquals(0, r.status(), r.err());
        assertEquals("[1, 525, 644, 701, 983]\n", r.out());
        assertEquals("[525, 644, 701, 983]\n", run("tokenize", "--model", Fixtures.checkpoint().toString(), "--no-bos",
                "KING RICHARD II:").out());
        // special tokens in the text become their ids (a rendered chat template)
        assertEquals("[1, 960, 409, 447, 983, 13, 2]\n", run("tokenize", "--model", gguf, "--no-bos", "<s>USER:\n</s>").out());
    }

    @Test
    void generatePrintsOnlyTheContinuation() {
        Ran r = run("generate", "--model", Fixtures.demoF32().toString(), "--prompt", "First Citizen:\n",
                "--max-tokens", "48", "--temperature", "0", "--threads", "2");
        assertEquals(0, r.status(), r.err());
        assertEquals("What, I am away?\n", r.out());
        assertTrue(r.err().contains("finished by eos"), r.err());
        // from the checkpoint directory with the EMA weights
        Ran ema = run("generate", "--model", Fixtures.checkpoint().toString(), "--weights", "model-ema.safetensors",
                "--prompt", "To be, or not to be", "--max-tokens", "8", "--temperature", "0");
        assertEquals(".\n", ema.out());
    }

    @Test
    void generatorStopsAtStopSequencesAndTheTokenLimit() throws Exception {
        Model model = Fixtures.load(Fixtures.demoF32());
        try (PagedKvCacheManager manager = KvCaches.manager(16L << 20)) {
            KvCache cache = manager.create(new KvCacheSpec("cli", model.info().version(), model.kvLayout(), KvDType.F32, 0));
            int[] prompt = model.tokenizer().encode("KING RICHARD III:\nNow is the winter of our discontent\n"
                    + "Made glorious summer by this sun of York;\n", true, false);
            List<String> pieces = new ArrayList<>();
            Generator.Result r = new Generator(model, cache, 16).generate(prompt, SamplingParams.GREEDY, 48,
                    List.of("crown,"), pieces::add);
            assertEquals(Generator.Finish.STOP, r.finish());
            assertEquals("And, in the ", r.text());
            assertEquals(r.text(), String.join("", pieces), "nothing past the stop was streamed");
            Generator.Result limited = new Generator(model, cache, 7).generate(prompt, SamplingParams.GREEDY, 3,
                    List.of(), s -> { });
            assertEquals(Generator.Finish.LENGTH, limited.finish());
            assertEquals(3, limited.tokens().length);
            assertEquals("And,", limited.text());
        }
    }

    @Test
    void makeTestModelWritesAModelThatLoadsAndGenerates() throws Exception {
        Path out = tmp.resolve("tiny-moe.gguf");
        Ran r = run("make-test-model", "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "128",
                "--vocab", "600", "--experts", "4", "--experts-used", "2", "--quant", "q4_0", "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        GGUFFile f = GGUFFile.read(out);
        assertEquals(4L, f.integer("llama.expert_count", 0));
        Model m = Fixtures.load(out);
        assertEquals("Q4_0", m.info().weightType());
        assertEquals(600, m.info().vocabSize());
        Ran g = run("generate", "--model", out.toString(), "--prompt", "hello", "--max-tokens", "5", "--seed", "1");
        assertEquals(0, g.status(), g.err());
        Ran info = run("model-info", "--model", out.toString());
        assertTrue(info.out().contains("experts: 4"), info.out());
        // the same seed writes the same bytes
        Path again = tmp.resolve("again.gguf");
        run("make-test-model", "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "128",
                "--vocab", "600", "--experts", "4", "--experts-used", "2", "--quant", "q4_0", "--out", again.toString());
        assertEquals(-1L, java.nio.file.Files.mismatch(out, again));
    }

    @Test
    void benchPrintsItsFiguresAsOneJsonObjectOnTheLastLine() throws Exception {
        Ran r = run("bench", "--model", Fixtures.demoF32().toString(), "--prompt-tokens", "8", "--gen-tokens", "3",
                "--batch", "2", "--threads", "2", "--repetitions", "2");
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().strip().split("\n");
        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(lines[lines.length - 1]);
        assertTrue(json.get("prefill_tokens_per_s").asDouble() > 0, r.out());
        assertTrue(json.get("decode_tokens_per_s").asDouble() > 0, r.out());
        assertEquals(2, json.get("batch").asInt());
        assertEquals(2, json.get("threads").asInt());
        assertEquals(8, json.get("prompt_tokens").asInt());
        assertEquals(2, json.get("decode_tokens_per_s_all").size(), "one figure per repetition");
        assertTrue(r.err().contains("repetition 2"), r.err());
        assertEquals(2, run("bench", "--model", Fixtures.demoF32().toString(), "--batch", "0").status());
    }

    @Test
    void mistakesAreReportedWithAnExitStatus() {
        assertEquals(2, run("tokenize", "--model", Fixtures.demoF32().toString(), "--bogus", "1", "x").status());
        assertEquals(2, run("tokenize", "--model", Fixtures.demoF32().toString()).status());
        assertEquals(2, run("generate", "--model", Fixtures.demoF32().toString()).status());
        assertEquals(2, run("make-test-model", "--shape", "no-such", "--out", tmp.resolve("x").toString()).status());
        assertEquals(2, run("frobnicate").status());
        Ran missing = run("generate", "--model", tmp.resolve("none.gguf").toString(), "--prompt", "x");
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("no such file"), missing.err());
        assertEquals("", missing.out());
    }

    @Test
    void helpAfterACommandPrintsTheUsage() {
        Ran help = run("bench", "--help");
        assertEquals(0, help.status(), help.err());
        assertTrue(help.out().contains("halyard bench --model FILE"), help.out());
        // after "--" it is text, not an option
        Ran text = run("tokenize", "--model", Fixtures.demoF32().toString(), "--no-bos", "--", "--help");
        assertEquals(0, text.status(), text.err());
        assertTrue(text.out().startsWith("["), text.out());
    }
}
