package org.halyard.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
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
        Thread.sleep(1000);
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
