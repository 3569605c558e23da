package org.halyard.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.SequenceState;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.osgi.util.tracker.ServiceTracker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * {@code bundle:update} of a Halyard bundle while clients keep sending requests: no request is
 * lost, and the container keeps running (same framework, same HTTP listener).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HotSwapIT extends HalyardTestSupport {

    @Configuration
    public Option[] config() {
        return distribution();
    }

    @Test
    public void updatingTheModelsBundleWhileModelRequestsFlowLosesNone() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        awaitStatus("/v1/models", 200, Duration.ofSeconds(90));
        List<String> failures = updateWhileRequestsFlow("org.halyard.models", () -> {
            HttpResponse<String> r = get("/v1/models");
            return r.statusCode() == 200 && r.body().startsWith("{\"object\":\"list\"") ? null
                    : r.statusCode() + " " + r.body();
        });
        assertTrue("requests failed during the update: " + failures, failures.isEmpty());
    }

    @Test
    public void updatingTheEngineBundleWhileCompletionsFlowLosesNone() throws Exception {
        assumeEngine();
        List<String> failures = updateWhileRequestsFlow("org.halyard.engine-cpu", HotSwapIT::completion);
        assertTrue("completions failed while the engine was replaced: " + failures, failures.isEmpty());
    }

    @Test
    public void updatingTheSchedulerBundleWhileCompletionsFlowLosesNone() throws Exception {
        assumeEngine();
        List<String> failures = updateWhileRequestsFlow("org.halyard.scheduler", HotSwapIT::completion);
        assertTrue("completions failed while the scheduler was replaced: " + failures, failures.isEmpty());
    }

    private void assumeEngine() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        org.junit.Assume.assumeTrue("needs the CPU engine bundle", halyardBundles().stream()
                .anyMatch(b -> b.getSymbolicName().equals("org.halyard.engine-cpu")));
        long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String last = null;
        while (System.nanoTime() < end) {
            last = completion();
            if (last == null) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("no completion before the update: " + last);
    }

    /** A greedy completion of the demo model; null when it gave the reference text. */
    static String completion() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"model\": \"halyard-shakespeare-moe\", "
                + "\"prompt\": \"First Citizen:\\n\", \"max_tokens\": 24, \"temperature\": 0}");
        return r.statusCode() == 200 && r.body().contains("\"text\":\"What, I am away?\"") ? null
                : r.statusCode() + " " + r.body();
    }

    /**
     * {@code bundle:update} of the CPU engine while the demo model is being stepped, greedily, by
     * a scheduler-less loop over a KV Cache++ sequence: no step fails, and every generation is
     * token for token the reference continuation (the model keeps serving on the caller's thread
     * while its engine is gone, and the deployment swaps in the model loaded by the new engine).
     */
    @Test
    public void updatingTheEngineWhileTheModelGeneratesKeepsGreedyOutputIdentical() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        ServiceTracker<Model, Model> models = new ServiceTracker<>(bundleContext,
                bundleContext.createFilter("(&(objectClass=" + Model.class.getName() + ")(" + Model.NAME
                        + "=halyard-shakespeare-moe))"), null);
        ServiceTracker<KvCacheManager, KvCacheManager> kv = new ServiceTracker<>(bundleContext, KvCacheManager.class, null);
        models.open();
        kv.open();
        try {
            assertTrue("the demo model is served", models.waitForService(90_000) != null);
            assertTrue("KV Cache++ is there", kv.waitForService(60_000) != null);
            // "First Citizen:\n" and its greedy continuation in reference-outputs.json
            int[] prompt = {1, 679, 339, 946, 983, 13};
            int[] expected = {998, 295, 975, 275, 480, 261, 750, 1003, 2};
            Map<String, KvCache> caches = new ConcurrentHashMap<>();
            AtomicInteger generations = new AtomicInteger();
            // one generation before the clients start: the reference continuation, and a warm JIT
            Model first = models.getService();
            KvCache firstCache = caches.computeIfAbsent(first.info().version(), v -> kv.getService().create(
                    new KvCacheSpec("hotswap-it", v, first.kvLayout(), KvDType.F32, 0)));
            assertEquals(Arrays.toString(expected), Arrays.toString(greedy(first, firstCache, prompt, expected.length)));
            List<String> failures = updateWhileRequestsFlow("org.halyard.engine-cpu", () -> {
                Model model = models.getService(); // the newest; this generation finishes on it
                KvCacheManager manager = kv.getService();
                if (model == null || manager == null) {
                    return "no model or no KV cache: " + model + " " + manager;
                }
                KvCache cache = caches.computeIfAbsent(model.info().version(), v -> manager.create(
                        new KvCacheSpec("hotswap-it", v, model.kvLayout(), KvDType.F32, 0)));
                int[] got = greedy(model, cache, prompt, expected.length);
                generations.incrementAndGet();
                return Arrays.equals(expected, got) ? null : "got " + Arrays.toString(got);
            });
            assertTrue("generations failed during the engine update: " + failures, failures.isEmpty());
            assertTrue("generations ran: " + generations.get(), generations.get() > 10);
            caches.values().forEach(KvCache::close);
        } finally {
            models.close();
            kv.close();
        }
    }

    /** A scheduler-less greedy loop: prefill, then one token a step, committing after each step. */
    private static int[] greedy(Model model, KvCache cache, int[] prompt, int max) {
        KvSequence seq = cache.open("hotswap", prompt, KvSequenceOptions.of(KvDType.F32));
        try {
            if (!cache.allocate(seq, prompt.length + max - seq.capacity())) {
                throw new IllegalStateException("no KV room");
            }
            Sequence state = new Sequence(prompt);
            int fed = seq.length();
            List<Integer> out = new ArrayList<>();
            StepResult r = model.step(List.of(StepEntry.sampling(state, seq, fed, prompt.length - fed)));
            seq.commit(prompt, fed, prompt.length - fed);
            while (true) {
                int token = r.sample(0).token();
                out.add(token);
                state.append(token);
                if (out.size() >= max || token == 2) {
                    break;
                }
                r = model.step(List.of(StepEntry.sampling(state, seq, state.length() - 1, 1)));
                seq.commit(new int[] {token}, 0, 1);
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        } finally {
            cache.release(seq);
        }
    }

    /** A request's tokens, greedy. */
    private static final class Sequence implements SequenceState {
        private final List<Integer> tokens = new ArrayList<>();
        private final int promptLength;

        Sequence(int[] prompt) {
            for (int t : prompt) {
                tokens.add(t);
            }
            promptLength = prompt.length;
        }

        void append(int t) {
            tokens.add(t);
        }

        @Override
        public String requestId() {
            return "hotswap";
        }

        @Override
        public int promptLength() {
            return promptLength;
        }

        @Override
        public int length() {
            return tokens.size();
        }

        @Override
        public int token(int index) {
            return tokens.get(index);
        }

        @Override
        public SamplingParams sampling() {
            return SamplingParams.GREEDY;
        }

        @Override
        public List<LogitsProcessor> logitsProcessors() {
            return List.of();
        }
    }

    /** One request; returns null when it succeeded, else what went wrong. */
    interface Probe {
        String call() throws Exception;
    }

    /**
     * Runs clients against the container, updates the bundle through the shell while they run,
     * and returns every failure they saw.
     */
    protected List<String> updateWhileRequestsFlow(String bsn, Probe probe) throws Exception {
        Bundle target = halyardBundles().stream().filter(b -> b.getSymbolicName().equals(bsn)).findFirst()
                .orElseThrow(() -> new AssertionError(bsn + " is not installed"));
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger done = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            futures.add(clients.submit(() -> {
                while (running.get()) {
                    try {
                        String failure = probe.call();
                        if (failure != null) {
                            failures.add(failure);
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                    done.incrementAndGet();
                }
                return null;
            }));
        }
        // let the clients get going (the first requests may be slow: a cold JIT)
        long warm = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Thread.sleep(1000);
        while (done.get() == 0 && System.nanoTime() < warm) {
            Thread.sleep(100);
        }
        int before = done.get();
        long bundleId = target.getBundleId();
        String out = shell("bundle:update " + bundleId);
        awaitHalyardActive(Duration.ofSeconds(60));
        Thread.sleep(2000);
        running.set(false);
        for (Future<?> f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
        clients.shutdown();
        assertTrue("clients ran before the update", before > 0);
        assertTrue("clients ran after the update: " + done.get() + " vs " + before, done.get() > before);
        assertEquals("the bundle is active again after update: " + out, Bundle.ACTIVE,
                bundleContext.getBundle(bundleId).getState());
        return new ArrayList<>(failures);
    }
}
