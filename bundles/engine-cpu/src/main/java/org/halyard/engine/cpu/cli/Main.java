package org.halyard.engine.cpu.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelInfo;
import org.halyard.engine.api.ModelLoadException;
import org.halyard.engine.api.ModelSource;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.Tokenizer;
import org.halyard.engine.cpu.ModelLoader;
import org.halyard.engine.cpu.kernel.Kernels;
import org.halyard.engine.cpu.model.TestModelGenerator;
import org.halyard.engine.cpu.tensor.GGMLType;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;

/**
 * The engine on the command line, outside Karaf (run through the root launcher):
 *
 * <pre>
 *   ./halyard tokenize --model FILE [--no-bos] [--no-special] TEXT
 *   ./halyard generate --model FILE --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K]
 *                      [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S] [--stop TEXT]...
 *                      [--weights FILE] [--overlay FILE]... [--threads N]
 *   ./halyard make-test-model --shape llama-135m|moe-small --quant f32|q8_0|q4_0 --out FILE
 *                      [--dim N --layers N --heads N --kv-heads N --ffn N --vocab N --experts N
 *                       --experts-used N --context N --tied true|false --seed S]
 *   ./halyard model-info --model FILE
 *   ./halyard bench --model FILE [--prompt-tokens P] [--gen-tokens G] [--batch B] [--threads T]
 *                      [--repetitions N] [--seed S]
 * </pre>
 *
 * {@code --model} takes a GGUF file or a Hugging Face checkpoint directory. {@code tokenize}
 * prints a JSON array of token ids; {@code generate} prints only the continuation, streamed to
 * stdout (timings go to stderr).
 */
public final class Main {

    private final PrintStream out;
    private final PrintStream err;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        System.exit(new Main(out, System.err).run(args));
    }

    /** Runs a command; returns the exit status. */
    int run(String[] argv) {
        if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help")) {
            usage(out);
            return argv.length == 0 ? 2 : 0;
        }
        for (int i = 1; i < argv.length && !argv[i].equals("--"); i++) {
            if (argv[i].equals("--help") || argv[i].equals("-h")) {
                usage(out);
                return 0;
            }
        }
        try {
            Args a = Args.parse(argv, 1);
            return switch (argv[0]) {
                case "tokenize" -> tokenize(a);
                case "generate" -> generate(a);
                case "make-test-model" -> makeTestModel(a);
                case "model-info" -> modelInfo(a);
                case "bench" -> bench(a);
                default -> {
                    err.println("unknown command " + argv[0]);
                    usage(err);
                    yield 2;
                }
            };
        } catch (IllegalArgumentException e) {
            err.println("halyard " + argv[0] + ": " + e.getMessage());
            return 2;
        } catch (ModelLoadException e) {
            err.println("halyard " + argv[0] + ": " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("halyard " + argv[0] + ": " + e);
            return 1;
        }
    }

    private static void usage(PrintStream s) {
        s.println("""
                usage:
                  halyard tokenize --model FILE [--no-bos] [--no-special] TEXT
                  halyard generate --model FILE --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K]
                                   [--top-p P] [--min-p P] [--repetition-penalty R] [--presence-penalty P]
                                   [--frequency-penalty F] [--seed S] [--stop TEXT]... [--weights FILE]
                                   [--overlay FILE]... [--threads N]
                  halyard make-test-model --shape llama-135m|moe-small --quant f32|f16|bf16|q8_0|q4_0 --out FILE
                                   [--dim N --layers N --heads N --kv-heads N --ffn N --vocab N --experts N
                                    --experts-used N --context N --tied true|false --seed S]
                  halyard model-info --model FILE
                  halyard bench --model FILE [--prompt-tokens P] [--gen-tokens G] [--batch B] [--threads T]
                                   [--repetitions N] [--seed S]
                --model takes a GGUF file or a Hugging Face checkpoint directory.""");
    }

    private int tokenize(Args a) throws ModelLoadException {
        Path model = a.path("model");
        String text = a.positional("TEXT");
        boolean bos = !a.flag("no-bos");
        boolean special = !a.flag("no-special");
        a.finish();
        Tokenizer tok = ModelLoader.loadTokenizer(model).tokenizer();
        int[] ids = tok.encode(text, bos, special);
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < ids.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(ids[i]);
        }
        out.println(sb.append(']'));
        return 0;
    }

    private int generate(Args a) throws Exception {
        ModelSource source = source(a);
        String prompt = a.string("prompt", null);
        if (prompt == null) {
            throw new IllegalArgumentException("--prompt TEXT is required");
        }
        int maxTokens = a.integer("max-tokens", 128);
        SamplingParams params = new SamplingParams(a.number("temperature", 0.8f), a.integer("top-k", 0),
                a.number("top-p", 1f), a.number("min-p", 0f), a.number("repetition-penalty", 1f),
                a.number("presence-penalty", 0f), a.number("frequency-penalty", 0f),
                a.longValue("seed", System.nanoTime()), Map.of(), 0);
        List<String> stops = a.all("stop");
        int threads = a.integer("threads", Runtime.getRuntime().availableProcessors());
        int chunk = a.integer("prefill-chunk", 256);
        a.finish();
        try (EngineThreads pool = new EngineThreads(threads)) {
            Model model = ModelLoader.load(source, pool.parallel());
            int[] ids = model.tokenizer().encode(prompt, true, true);
            try (org.halyard.kvcache.impl.PagedKvCacheManager manager = KvCaches.manager(
                    KvCaches.bytesFor(model.kvLayout(), ids.length + maxTokens))) {
                KvCache cache = manager.create(new KvCacheSpec(model.info().name(), model.info().version(),
                        model.kvLayout(), KvDType.F32, 0));
                Generator.Result r = new Generator(model, cache, chunk).generate(ids, params, maxTokens, stops, s -> {
                    out.print(s);
                    out.flush();
                });
                out.println();
                err.printf("halyard generate: %d prompt tokens in %.1f ms, %d tokens in %.1f ms (%.1f tokens/s), "
                        + "finished by %s; %d threads, vectors %d bits%n", r.promptTokens(), r.prefillNanos() / 1e6,
                        r.tokens().length, r.decodeNanos() / 1e6,
                        r.tokens().length == 0 ? 0 : r.tokens().length / (r.decodeNanos() / 1e9),
                        r.finish().name().toLowerCase(), threads, Kernels.VECTOR_BITS);
            }
        }
        return 0;
    }

    /**
     * Prefill and decode tokens/s (see {@link Bench}): one line per repetition on stderr, then one
     * JSON object with the medians on the last line of stdout.
     */
    private int bench(Args a) throws Exception {
        ModelSource source = source(a);
        int prompt = a.integer("prompt-tokens", 128);
        int gen = a.integer("gen-tokens", 64);
        int batchSize = a.integer("batch", 1);
        int threads = a.integer("threads", Runtime.getRuntime().availableProcessors());
        int repetitions = a.integer("repetitions", 5);
        long seed = a.longValue("seed", 42);
        a.finish();
        if (threads < 1 || repetitions < 1) {
            throw new IllegalArgumentException("--threads and --repetitions must be at least 1");
        }
        try (EngineThreads pool = new EngineThreads(threads)) {
            Model model = ModelLoader.load(source, pool.parallel());
            ModelInfo info = model.info();
            try (org.halyard.kvcache.impl.PagedKvCacheManager manager = KvCaches.manager(
                    KvCaches.bytesFor(model.kvLayout(), batchSize * (prompt + gen + 64)))) {
                KvCache cache = manager.create(new KvCacheSpec(info.name(), info.version(), model.kvLayout(),
                        KvDType.F32, 0));
                Bench bench = new Bench(model, cache, prompt, gen, batchSize, seed);
                List<Bench.Run> runs = bench.measure(repetitions);
                double[] prefill = new double[runs.size()];
                double[] decode = new double[runs.size()];
                for (int i = 0; i < runs.size(); i++) {
                    prefill[i] = bench.prefillRate(runs.get(i));
                    decode[i] = bench.decodeRate(runs.get(i));
                    err.printf("halyard bench: repetition %d: prefill %.1f tokens/s, decode %.1f tokens/s%n", i + 1,
                            prefill[i], decode[i]);
                }
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("model", source.path().getFileName().toString());
                json.put("weight_type", info.weightType());
                json.put("parameters", info.parameters());
                json.put("size_bytes", info.sizeBytes());
                json.put("threads", threads);
                json.put("batch", batchSize);
                json.put("prompt_tokens", prompt);
                json.put("gen_tokens", gen);
                json.put("repetitions", repetitions);
                json.put("vector_bits", Kernels.VECTOR_BITS);
                json.put("prefill_tokens_per_s", round(Bench.median(prefill)));
                json.put("decode_tokens_per_s", round(Bench.median(decode)));
                json.put("prefill_tokens_per_s_all", roundAll(prefill));
                json.put("decode_tokens_per_s_all", roundAll(decode));
                json.put("load_average", round(java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                        .getSystemLoadAverage()));
                out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(json));
            }
        }
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double[] roundAll(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = round(v[i]);
        }
        return r;
    }

    private int modelInfo(Args a) throws Exception {
        ModelSource source = source(a);
        a.finish();
        Map<String, Long> before = Memory.resident();
        long t0 = System.nanoTime();
        Model model = ModelLoader.load(source, org.halyard.engine.cpu.kernel.Parallel.SERIAL);
        long loadNanos = System.nanoTime() - t0;
        Map<String, Long> loaded = Memory.resident();
        ModelInfo i = model.info();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("name", i.name());
        fields.put("version", i.version());
        fields.put("architecture", i.architecture());
        fields.put("format", i.format());
        fields.put("weightType", i.weightType());
        fields.put("layers", i.layers());
        fields.put("embeddingDim", i.embeddingDim());
        fields.put("heads", i.heads());
        fields.put("kvHeads", i.kvHeads());
        fields.put("headDim", i.headDim());
        fields.put("experts", i.experts());
        fields.put("expertsUsed", i.expertsUsed());
        fields.put("vocabSize", i.vocabSize());
        fields.put("contextLength", i.contextLength());
        fields.put("parameters", i.parameters());
        fields.put("sizeBytes", i.sizeBytes());
        fields.put("loadMillis", loadNanos / 1_000_000);
        fields.forEach((k, v) -> out.println(k + ": " + v));
        // one token through every layer touches every weight page: the model's resident cost
        Map<String, Long> stepped;
        try (org.halyard.kvcache.impl.PagedKvCacheManager manager = KvCaches.manager(KvCaches.bytesFor(model.kvLayout(), 1))) {
            KvCache cache = manager.create(new KvCacheSpec(i.name(), i.version(), model.kvLayout(), KvDType.F32, 0));
            int bos = Math.max(0, model.tokenizer().bos());
            new Generator(model, cache, 1).generate(new int[] {bos}, SamplingParams.GREEDY, 1, List.of(), x -> { });
            stepped = Memory.resident();
        }
        if (!before.isEmpty()) {
            out.println("residentMiB (heap used / RSS / RSS anonymous / RSS file-backed):");
            out.println("  before load:       " + Memory.describe(before));
            out.println("  after load:        " + Memory.describe(loaded));
            out.println("  after one token:   " + Memory.describe(stepped));
        }
        return 0;
    }

    private int makeTestModel(Args a) throws Exception {
        String shapeName = a.string("shape", null);
        TestModelGenerator.Shape base = null;
        if (shapeName != null) {
            base = TestModelGenerator.shapes().stream().filter(s -> s.name().equals(shapeName)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown shape " + shapeName + " (known: "
                            + TestModelGenerator.shapes().stream().map(TestModelGenerator.Shape::name).toList() + ")"));
        } else if (!a.has("dim")) {
            throw new IllegalArgumentException("give --shape NAME or explicit dimensions (--dim, --layers, ...)");
        }
        TestModelGenerator.Shape shape = new TestModelGenerator.Shape(shapeName == null ? "custom" : shapeName,
                a.integer("dim", base == null ? -1 : base.dim()), a.integer("layers", base == null ? -1 : base.layers()),
                a.integer("heads", base == null ? -1 : base.heads()),
                a.integer("kv-heads", base == null ? a.integer("heads", -1) : base.kvHeads()),
                a.integer("ffn", base == null ? -1 : base.ffn()), a.integer("vocab", base == null ? 32000 : base.vocab()),
                a.integer("experts", base == null ? 0 : base.experts()),
                a.integer("experts-used", base == null ? 0 : base.expertsUsed()),
                a.integer("context", base == null ? 2048 : base.context()),
                Boolean.parseBoolean(a.string("tied", String.valueOf(base == null || base.tied()))));
        GGMLType quant = GGMLType.fromName(a.string("quant", "f32"));
        Path outFile = a.path("out");
        long seed = a.longValue("seed", 42);
        a.finish();
        if (outFile.getParent() != null) {
            Files.createDirectories(outFile.getParent());
        }
        long t0 = System.nanoTime();
        TestModelGenerator.write(shape, quant, seed, outFile);
        err.printf("halyard make-test-model: wrote %s (%s, %s, %d MB) in %.1f s%n", outFile, shape, quant,
                Files.size(outFile) >> 20, (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private static ModelSource source(Args a) {
        Path model = a.path("model");
        String weights = a.string("weights", null);
        List<Path> overlays = new ArrayList<>();
        for (String o : a.all("overlay")) {
            overlays.add(Path.of(o));
        }
        return new ModelSource(model.getFileName().toString(), model, weights == null ? null : Path.of(weights),
                overlays, Map.of());
    }

    /** {@code --name value} options, {@code --flag}s and positional arguments. */
    static final class Args {
        private final Map<String, List<String>> options = new LinkedHashMap<>();
        private final List<String> positional = new ArrayList<>();
        private final java.util.Set<String> used = new java.util.HashSet<>();
        private static final java.util.Set<String> FLAGS = java.util.Set.of("no-bos", "no-special");

        static Args parse(String[] argv, int from) {
            Args a = new Args();
            for (int i = from; i < argv.length; i++) {
                String s = argv[i];
                if (s.equals("--")) {
                    a.positional.addAll(List.of(argv).subList(i + 1, argv.length));
                    break;
                }
                if (s.startsWith("--") && s.length() > 2) {
                    String name = s.substring(2);
                    String value;
                    int eq = name.indexOf('=');
                    if (eq >= 0) {
                        value = name.substring(eq + 1);
                        name = name.substring(0, eq);
                    } else if (FLAGS.contains(name)) {
                        value = "true";
                    } else if (i + 1 < argv.length) {
                        value = argv[++i];
                    } else {
                        throw new IllegalArgumentException("--" + name + " needs a value");
                    }
                    a.options.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
                } else {
                    a.positional.add(s);
                }
            }
            return a;
        }

        boolean has(String name) {
            return options.containsKey(name);
        }

        boolean flag(String name) {
            used.add(name);
            return options.containsKey(name);
        }

        String string(String name, String dflt) {
            used.add(name);
            List<String> v = options.get(name);
            return v == null ? dflt : v.get(v.size() - 1);
        }

        List<String> all(String name) {
            used.add(name);
            return options.getOrDefault(name, List.of());
        }

        Path path(String name) {
            String v = string(name, null);
            if (v == null) {
                throw new IllegalArgumentException("--" + name + " is required");
            }
            return Path.of(v);
        }

        int integer(String name, int dflt) {
            String v = string(name, null);
            try {
                return v == null ? dflt : Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + name + " must be an integer: " + v);
            }
        }

        long longValue(String name, long dflt) {
            String v = string(name, null);
            try {
                return v == null ? dflt : Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + name + " must be an integer: " + v);
            }
        }

        float number(String name, float dflt) {
            String v = string(name, null);
            try {
                return v == null ? dflt : Float.parseFloat(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + name + " must be a number: " + v);
            }
        }

        String positional(String what) {
            if (positional.size() != 1) {
                throw new IllegalArgumentException("expected one " + what + " argument, got " + positional.size()
                        + " (quote text with spaces)");
            }
            return positional.get(0);
        }

        /** Fails on options nobody asked for (typos). */
        void finish() {
            for (String name : options.keySet()) {
                if (!used.contains(name)) {
                    throw new IllegalArgumentException("unknown option --" + name);
                }
            }
        }
    }
}
