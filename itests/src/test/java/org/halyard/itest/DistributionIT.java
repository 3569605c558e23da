package org.halyard.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import javax.inject.Inject;
import org.apache.karaf.features.FeaturesService;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The distribution as a user gets it: every Halyard bundle active, every component satisfied,
 * the REST API and the shell answering, features removable and installable while it runs.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DistributionIT extends HalyardTestSupport {

    /** The bundles the {@code halyard} feature installs; a new bundle belongs here. */
    static final Set<String> EXPECTED_BUNDLES = Set.of(
            "org.halyard.core-api", "org.halyard.kvcache-api", "org.halyard.engine-api",
            "org.halyard.serving-api", "org.halyard.safety-api", "org.halyard.retrieval-api",
            "org.halyard.tool-api", "org.halyard.telemetry-api", "org.halyard.checkpoint-api",
            "org.halyard.kvcache", "org.halyard.models", "org.halyard.scheduler", "org.halyard.mode-interactive",
            "org.halyard.rest", "org.halyard.shell", "org.halyard.engine-cpu",
            "org.halyard.telemetry", "org.halyard.exporter-prometheus", "org.halyard.exporter-jsonlog",
            "org.halyard.exporter-otlp", "org.halyard.mode-ultralong", "org.halyard.rest-api", "org.halyard.mode-batch");

    @Inject
    private FeaturesService features;

    @Inject
    private ServiceComponentRuntime scr;

    @Inject
    private KvCacheManager kvCaches;

    @Configuration
    public Option[] config() {
        return distribution();
    }

    @Test
    public void everyHalyardBundleIsInstalledAndActive() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        Set<String> installed = halyardBundles().stream().map(Bundle::getSymbolicName)
                .collect(Collectors.toCollection(TreeSet::new));
        assertTrue("missing bundles: installed " + installed, installed.containsAll(EXPECTED_BUNDLES));
    }

    @Test
    public void everyHalyardComponentIsSatisfied() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<String> problems;
        do {
            problems = new ArrayList<>();
            int seen = 0;
            for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
                if (!d.bundle.symbolicName.startsWith("org.halyard.")) {
                    continue;
                }
                seen++;
                if (!scr.isComponentEnabled(d)) {
                    problems.add(d.name + " disabled");
                }
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    if (c.state != ComponentConfigurationDTO.ACTIVE && c.state != ComponentConfigurationDTO.SATISFIED) {
                        problems.add(d.name + " state " + c.state + " unsatisfied references "
                                + java.util.Arrays.stream(c.unsatisfiedReferences).map(r -> r.name + " " + r.target)
                                        .collect(Collectors.joining(", ")));
                    }
                }
            }
            if (seen == 0) {
                problems.add("no Halyard components found");
            }
            if (problems.isEmpty()) {
                return;
            }
            Thread.sleep(250);
        } while (System.nanoTime() < end);
        throw new AssertionError("Halyard components not satisfied: " + problems);
    }

    @Test
    public void restApiAnswersHealthModelsAndErrorsInOpenAiShape() throws Exception {
        HttpResponse<String> health = awaitJson("/health");
        assertTrue(health.body(), health.body().contains("\"components\""));
        assertTrue(health.body(), health.body().contains("model/halyard-shakespeare-moe"));

        HttpResponse<String> models = awaitStatus("/v1/models", 200, Duration.ofSeconds(60));
        assertTrue(models.body(), models.body().startsWith("{\"object\":\"list\",\"data\":["));

        HttpResponse<String> missing = get("/v1/models/no-such-model");
        assertEquals(404, missing.statusCode());
        assertTrue(missing.body(), missing.body().contains("\"code\":\"model_not_found\""));
        assertTrue(missing.body(), missing.body().contains("\"type\":\"invalid_request_error\""));

        HttpResponse<String> noEndpoint = get("/v1/no-such-endpoint");
        assertEquals(404, noEndpoint.statusCode());
        assertTrue(noEndpoint.body(), noEndpoint.body().startsWith("{\"error\":{\"message\":\"No such endpoint"));

        HttpResponse<String> wrongMethod = post("/v1/models", "{}");
        assertEquals(405, wrongMethod.statusCode());
        assertTrue(wrongMethod.body(), wrongMethod.body().contains("\"error\""));
    }

    @Test
    public void theDemoModelIsServedByTheCpuEngine() throws Exception {
        HttpResponse<String> models = awaitBody("/v1/models", "\"id\":\"halyard-shakespeare-moe\"");
        assertTrue(models.body(), models.body().contains("\"architecture\":\"llama\""));
        assertTrue(models.body(), models.body().contains("\"experts\":4"));
        assertTrue(models.body(), models.body().contains("\"version\":\"sha256:"));
        HttpResponse<String> one = get("/v1/models/halyard-shakespeare-moe");
        assertEquals(200, one.statusCode());
        String status = shell("halyard:status --no-format");
        assertTrue(status, status.contains("halyard-shakespeare-moe"));
        assertTrue(status, status.contains("org.halyard.engine-cpu"));
    }

    /** Waits until a path answers 200 with a body containing {@code text}. */
    private static HttpResponse<String> awaitBody(String path, String text) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        HttpResponse<String> last = null;
        while (System.nanoTime() < end) {
            try {
                last = get(path);
                if (last.statusCode() == 200 && last.body().contains(text)) {
                    return last;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new AssertionError(path + " did not show " + text + " in time; last: "
                + (last == null ? "none" : last.statusCode() + " " + last.body()));
    }

    @Test
    public void statusCommandShowsBundlesHealthAndModels() throws Exception {
        awaitHalyardActive(Duration.ofSeconds(60));
        String out = shell("halyard:status --no-format");
        for (String bsn : EXPECTED_BUNDLES) {
            assertTrue("status lists " + bsn + ":\n" + out, out.contains(bsn));
        }
        assertTrue(out, out.contains("Health"));
        assertTrue(out, out.contains("model/halyard-shakespeare-moe"));
        assertTrue(out, out.contains("Models"));
    }

    @Test
    public void restFeatureCanBeUninstalledAndInstalledWhileRunning() throws Exception {
        awaitJson("/health");
        features.uninstallFeature("halyard-rest");
        assertTrue(halyardBundles().stream().noneMatch(b -> b.getSymbolicName().equals("org.halyard.rest")));
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        int status = 0;
        while (System.nanoTime() < end) {
            status = get("/health").statusCode();
            if (status == 404) {
                break;
            }
            Thread.sleep(200);
        }
        assertEquals("without the REST feature /health is gone", 404, status);
        // the rest of the runtime is untouched
        assertTrue(halyardBundles().stream().anyMatch(b -> b.getSymbolicName().equals("org.halyard.models")
                && b.getState() == Bundle.ACTIVE));

        features.installFeature("halyard-rest");
        HttpResponse<String> back = awaitJson("/health");
        assertTrue(back.body(), back.body().contains("\"components\""));
    }

    @Test
    public void kvCacheServesSequencesAndTheShellShowsAndDropsThem() throws Exception {
        KvCache cache = kvCaches.create(new KvCacheSpec("itest-cache", "itest-v1", new KvLayout(2, 2, 16),
                KvDType.F32, 1 << 20));
        try {
            int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
            KvSequence s = cache.open("r1", prompt, KvSequenceOptions.of(KvDType.INT8));
            assertTrue(cache.allocate(s, prompt.length));
            float[] kv = new float[32];
            for (int pos = 0; pos < prompt.length; pos++) {
                java.util.Arrays.fill(kv, pos);
                for (int layer = 0; layer < 2; layer++) {
                    s.write(layer, pos, kv, 0, kv, 0);
                }
            }
            s.commit(prompt, 0, prompt.length);
            float[] out = new float[16];
            s.valueSum(1, 1, new float[] {1f}, 0, 16, 17, out, 0);
            assertEquals(16f, out[0], 1e-6f);
            assertEquals(16, cache.open("r2", prompt, KvSequenceOptions.of(KvDType.INT8)).cachedPrefixLength());

            String shown = shell("halyard:kvcache --no-format");
            assertTrue(shown, shown.contains("itest-cache"));
            assertTrue(shown, shown.contains("47.1%")); // 16 of 34 prompt tokens
            String health = awaitJson("/health").body();
            assertTrue(health, health.contains("kvcache/itest-cache"));
            // the container exports jdk.incubator.vector, so the kernels use vectors there too
            assertTrue(health, health.contains("\"kernels\":\"vector"));

            String dry = shell("halyard:kvcache-drop itest-cache");
            assertTrue(dry, dry.contains("Nothing dropped"));
            assertTrue(s.valid());
            String dropped = shell("halyard:kvcache-drop --force itest-cache");
            assertTrue(dropped, dropped.contains("Dropped itest-cache"));
            assertTrue(!s.valid());
            assertEquals(1, cache.usage().drops());
        } finally {
            cache.close();
        }
        assertTrue(kvCaches.caches().stream().noneMatch(c -> c.spec().name().equals("itest-cache")));
    }

    /** Waits until a path answers with a JSON body (health is 503 while a model loads). */
    private static HttpResponse<String> awaitJson(String path) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        HttpResponse<String> last = null;
        while (System.nanoTime() < end) {
            try {
                last = get(path);
                if (last.body().startsWith("{") && (last.statusCode() == 200 || last.statusCode() == 503)) {
                    return last;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError(path + " gave no JSON in time; last " + (last == null ? "none" : last.statusCode()));
    }
}
