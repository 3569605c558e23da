package org.halyard.itest.ultralong;

import static org.junit.Assert.assertTrue;

import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.SamplingParams;
import org.halyard.itest.ultralong.HeldBackText.Play;
import org.halyard.itest.ultralong.Perplexity.Result;
import org.halyard.itest.ultralong.Perplexity.Strategy;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The sliding window past the demo model's context does not degrade into repetition or garbage,
 * on Hamlet, which the model never saw (see {@link HeldBackText}); INT8 blocks, 16-token sinks, a
 * 256-token window sliding 64 at a time, as the ultra-long mode runs by default. The bounds leave
 * room around the figures measured (docs/ultralong.md); the broken variants (no K-shift, naive
 * positions) show that the test notices a window that attends wrongly.
 */
public class SlidingWindowQualityTest {

    static PagedKvCacheManager manager;
    static Model model;
    static Perplexity ppl;
    static int ctx;

    @BeforeClass
    public static void setUp() throws Exception {
        model = SlidingWindowBenchmark.demo();
        ctx = model.info().contextLength();
        manager = new PagedKvCacheManager(KvCacheSettings.defaults().withCapacityBytes(32L << 20)
                .withOffHeapCapacityBytes(0).withDiskCapacityBytes(0).withCheckIntervalSeconds(0));
        KvCache cache = manager.create(new KvCacheSpec("quality", model.info().version(), model.kvLayout(), KvDType.F32, 0));
        ppl = new Perplexity(model, cache);
    }

    @AfterClass
    public static void tearDown() {
        manager.close();
    }

    @Test
    public void perplexityPastTheContextWithTheWindowStaysCloseToPerplexityInsideIt() {
        int[] hamlet = ppl.stream(HeldBackText.speeches(Play.HAMLET), 3 * ctx);
        Result inside = ppl.inContext(hamlet, ctx, 192, KvDType.INT8);
        Result slide = ppl.stream(hamlet, Strategy.slide(256, 16, 64), ctx, KvDType.INT8);
        Result noShift = ppl.stream(hamlet, Strategy.noShift(256, 16, 64), ctx, KvDType.INT8);
        Result naive = ppl.stream(hamlet, Strategy.naive(), ctx, KvDType.INT8);
        String figures = String.format(Locale.ROOT, "perplexity on Hamlet tokens %d-%d: in context %.2f, slide %.2f, "
                + "slide without K-shift %.2f, naive positions %.2f", ctx, hamlet.length, inside.perplexity(),
                slide.perplexity(), noShift.perplexity(), naive.perplexity());
        System.out.println(figures);
        assertTrue(figures, slide.evicted() >= hamlet.length - 256 - 64);
        assertTrue(figures, slide.perplexity() < 1.2 * inside.perplexity());
        assertTrue(figures, noShift.perplexity() > 1.5 * slide.perplexity());
        assertTrue(figures, naive.perplexity() > 1.3 * slide.perplexity());
    }

    @Test
    public void sampledTextFarPastTheContextIsMadeOfWordsAndDoesNotLoop() {
        Set<String> dictionary = new HashSet<>();
        for (Play p : Play.values()) {
            dictionary.addAll(Perplexity.words(HeldBackText.speeches(p)));
        }
        int[] prompt = ppl.stream(HeldBackText.speeches(Play.HAMLET), 2 * ctx);
        SamplingParams sampled = new SamplingParams(0.8f, 0, 0.95f, 0, 1, 0, 0, 7, Map.of(), 0);
        int[] slide = ppl.generate(prompt, 3 * ctx, Strategy.slide(256, 16, 64), KvDType.INT8, sampled);
        int[] naive = ppl.generate(prompt, 3 * ctx, Strategy.naive(), KvDType.INT8, sampled);
        double slideWords = Perplexity.knownWords(model.tokenizer().decode(slide, true), dictionary);
        double naiveWords = Perplexity.knownWords(model.tokenizer().decode(naive, true), dictionary);
        double loops = Perplexity.repeated4grams(slide);
        String figures = String.format(Locale.ROOT, "%d sampled tokens after a %d-token prompt: known words %.2f with the "
                + "window, %.2f with naive positions; repeated 4-grams %.2f", slide.length, prompt.length, slideWords,
                naiveWords, loops);
        System.out.println(figures);
        assertTrue(figures, slideWords >= 0.75);
        assertTrue(figures, slideWords >= naiveWords + 0.1);
        assertTrue(figures, loops <= 0.3);
    }
}
