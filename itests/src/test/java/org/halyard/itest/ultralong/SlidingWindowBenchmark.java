package org.halyard.itest.ultralong;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelSource;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.cpu.ModelLoader;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.itest.ultralong.HeldBackText.Play;
import org.halyard.itest.ultralong.Perplexity.Result;
import org.halyard.itest.ultralong.Perplexity.Strategy;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;

/**
 * The figures of docs/ultralong.md on output quality past the context: perplexity of the demo
 * model on held-back plays inside its trained context, and past its context with a sliding window
 * (and its ablations) and with naive positions; and how repetitive a long greedy continuation
 * past the context is. Run with {@code ./mvnw -B -q -pl itests -am verify -DskipTests -Pbench
 * -Dbench.class=org.halyard.itest.ultralong.SlidingWindowBenchmark} (or this class's main with
 * the test class path; arguments: tokens per play, default 4096).
 */
public final class SlidingWindowBenchmark {

    private SlidingWindowBenchmark() {
    }

    static Model demo() throws Exception {
        Path root = Path.of(System.getProperty("halyard.root", "."));
        while (root != null && !root.resolve("models/halyard-shakespeare-moe").toFile().isDirectory()) {
            root = root.toAbsolutePath().getParent();
        }
        if (root == null) {
            throw new IllegalStateException("cannot find the repository root (set -Dhalyard.root)");
        }
        return ModelLoader.load(ModelSource.of("demo",
                root.resolve("models/halyard-shakespeare-moe/halyard-shakespeare-moe-f32.gguf")), Parallel.SERIAL);
    }

    public static void main(String[] args) throws Exception {
        int tokens = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        Model m = demo();
        int ctx = m.info().contextLength();
        try (PagedKvCacheManager manager = new PagedKvCacheManager(KvCacheSettings.defaults()
                .withCapacityBytes(64L << 20).withOffHeapCapacityBytes(0).withDiskCapacityBytes(0)
                .withCheckIntervalSeconds(0))) {
            KvCache cache = manager.create(new KvCacheSpec("bench", m.info().version(), m.kvLayout(), KvDType.F32, 0));
            Perplexity ppl = new Perplexity(m, cache);
            System.out.printf(Locale.ROOT, "demo model: context %d (trained on 192), %d tokens per play, scored from "
                    + "token %d, 16-token blocks; load average %.1f%n", ctx, tokens, ctx,
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            System.out.printf(Locale.ROOT, "%-18s %-34s %8s %10s %8s%n", "play", "how", "tokens", "perplexity",
                    "evicted");
            for (Play play : args.length > 1 ? new Play[0] : Play.values()) {
                int[] stream = ppl.stream(HeldBackText.speeches(play), tokens);
                row(play, "in context (each speech alone)", ppl.inContext(stream, ctx, 192, KvDType.F32));
                row(play, "slide 256, sinks 16, F32", ppl.stream(stream, Strategy.slide(256, 16, 64), ctx, KvDType.F32));
                row(play, "slide 256, sinks 16, INT8", ppl.stream(stream, Strategy.slide(256, 16, 64), ctx, KvDType.INT8));
                row(play, "slide 192, sinks 16, F32", ppl.stream(stream, Strategy.slide(192, 16, 48), ctx, KvDType.F32));
                row(play, "slide 256, no K-shift", ppl.stream(stream, Strategy.noShift(256, 16, 64), ctx, KvDType.F32));
                row(play, "slide 256, no sinks", ppl.stream(stream, Strategy.noSinks(256, 64), ctx, KvDType.F32));
                row(play, "naive positions (full cache)", ppl.stream(stream, Strategy.naive(), ctx, KvDType.F32));
            }
            java.util.Set<String> dictionary = new java.util.HashSet<>();
            for (Play p : Play.values()) {
                dictionary.addAll(Perplexity.words(HeldBackText.speeches(p)));
            }
            int[] prompt = ppl.stream(HeldBackText.speeches(Play.HAMLET), 2 * ctx);
            SamplingParams sampled = new SamplingParams(0.8f, 0, 0.95f, 0, 1, 0, 0, 7, java.util.Map.of(), 0);
            for (SamplingParams sp : List.of(SamplingParams.GREEDY, sampled)) {
                for (Strategy s : List.of(Strategy.slide(256, 16, 64), Strategy.noShift(256, 16, 64), Strategy.naive())) {
                    long t0 = System.nanoTime();
                    int[] out = ppl.generate(prompt, 4 * ctx, s, KvDType.INT8, sp);
                    String text = m.tokenizer().decode(out, true);
                    int[] inContext = java.util.Arrays.copyOf(out, 192 - 1);
                    System.out.printf(Locale.ROOT, "%s, %d tokens after a %d-token prompt, %s: repeated 4-grams %.2f "
                            + "(first 191: %.2f), known words %.2f (%.1f s)%n  %s%n", sp.greedy() ? "greedy" : "sampled",
                            out.length, prompt.length, s.name(), Perplexity.repeated4grams(out),
                            Perplexity.repeated4grams(inContext), Perplexity.knownWords(text, dictionary),
                            (System.nanoTime() - t0) / 1e9, text.substring(Math.max(0, text.length() - 300)).replace("\n", " / "));
                }
            }
        }
    }

    private static void row(Play play, String how, Result r) {
        System.out.printf(Locale.ROOT, "%-18s %-34s %8d %10.2f %8d%n", play, how, r.tokens(), r.perplexity(), r.evicted());
    }
}
