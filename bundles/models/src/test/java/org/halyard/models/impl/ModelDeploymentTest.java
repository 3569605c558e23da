package org.halyard.models.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.halyard.core.api.Health;
import org.halyard.engine.api.InferenceEngine;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelInfo;
import org.halyard.engine.api.ModelLoadException;
import org.halyard.engine.api.ModelSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

class ModelDeploymentTest {

    @TempDir
    Path dir;

    /** What the fake framework saw: registrations in order, and which are still registered. */
    final List<Registration> registrations = new CopyOnWriteArrayList<>();
    ModelDeployment deployment;

    record Registration(Model model, Map<String, Object> properties, boolean[] live) {
        boolean registered() {
            return live[0];
        }
    }

    @AfterEach
    void deactivate() {
        if (deployment != null) {
            deployment.deactivate();
        }
    }

    @Test
    void sourceResolvesRelativePathsAgainstKarafHomeAndSplitsCommaSeparatedLists() {
        String home = System.getProperty("karaf.home");
        System.setProperty("karaf.home", dir.toString());
        try {
            Files.createDirectories(dir.resolve("models/ckpt"));
            ModelSource s = ModelDeployment.source(config("demo", "models/ckpt", "model-ema.safetensors",
                    new String[] {"router-v1.safetensors, router-v2.safetensors"}, new String[] {"a=1, b = two"}, 30));
            assertEquals(dir.resolve("models/ckpt"), s.path());
            assertEquals(dir.resolve("models/ckpt/model-ema.safetensors"), s.weights());
            assertEquals(List.of(dir.resolve("models/ckpt/router-v1.safetensors"),
                    dir.resolve("models/ckpt/router-v2.safetensors")), s.overlays());
            assertEquals(Map.of("a", "1", "b", "two"), s.options());
            assertEquals("demo", s.name());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        } finally {
            if (home == null) {
                System.clearProperty("karaf.home");
            } else {
                System.setProperty("karaf.home", home);
            }
        }
    }

    @Test
    void fingerprintChangesWhenAModelFileIsReplaced() throws Exception {
        Path f = Files.writeString(dir.resolve("m.gguf"), "v1");
        ModelSource s = ModelSource.of("m", f);
        List<String> before = ModelDeployment.fingerprint(s);
        assertEquals(before, ModelDeployment.fingerprint(s));
        Files.writeString(f, "v2 longer");
        Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        assertNotEquals(before, ModelDeployment.fingerprint(s));
    }

    @Test
    void waitsForAnEngineThenRegistersTheModelWithItsNameAndVersion() throws Exception {
        Path f = Files.writeString(dir.resolve("m.gguf"), "weights");
        deployment = new ModelDeployment(context(), config("demo", f.toString(), "", new String[0], new String[0], 30));
        assertEquals(Health.Status.DOWN, health().status());
        assertFalse(health().ready());

        FakeEngine engine = new FakeEngine("cpu", "v1");
        deployment.bindEngine(engine);
        await(() -> registrations.size() == 1 && health().ready());
        Registration r = registrations.get(0);
        assertEquals("demo", r.properties().get(Model.NAME));
        assertEquals("v1", r.properties().get(Model.VERSION));
        assertEquals("cpu", r.properties().get(InferenceEngine.ENGINE));
        assertEquals(Health.Status.UP, health().status());
        assertEquals("v1", health().attributes().get("version"));
    }

    @Test
    void aNewEngineSwapsTheModelRegisteringTheNewOneBeforeWithdrawingTheOld() throws Exception {
        Path f = Files.writeString(dir.resolve("m.gguf"), "weights");
        deployment = new ModelDeployment(context(), config("demo", f.toString(), "", new String[0], new String[0], 30));
        FakeEngine first = new FakeEngine("cpu", "v1");
        deployment.bindEngine(first);
        await(() -> registrations.size() == 1);

        FakeEngine second = new FakeEngine("cpu", "v2");
        deployment.bindEngine(second); // greedy: the better engine is bound before the old is unbound
        deployment.unbindEngine(first);
        await(() -> registrations.size() == 2 && !registrations.get(0).registered());
        assertTrue(registrations.get(1).registered());
        assertEquals("v2", registrations.get(1).properties().get(Model.VERSION));
        // there was no moment without a registered model: the new one came first
        assertEquals(1, registrations.stream().filter(Registration::registered).count());
    }

    @Test
    void anEngineThatGoesAwayKeepsServingForTheGracePeriodThenWithdraws() throws Exception {
        Path f = Files.writeString(dir.resolve("m.gguf"), "weights");
        deployment = new ModelDeployment(context(), config("demo", f.toString(), "", new String[0], new String[0], 1));
        FakeEngine engine = new FakeEngine("cpu", "v1");
        deployment.bindEngine(engine);
        await(() -> registrations.size() == 1);
        deployment.unbindEngine(engine);
        assertTrue(registrations.get(0).registered(), "still serving during the grace period");
        await(() -> !registrations.get(0).registered());
        assertEquals(Health.Status.DOWN, health().status());
    }

    @Test
    void anEngineThatComesBackWithinTheGracePeriodReplacesTheModelWithoutAGap() throws Exception {
        Path f = Files.writeString(dir.resolve("m.gguf"), "weights");
        deployment = new ModelDeployment(context(), config("demo", f.toString(), "", new String[0], new String[0], 30));
        FakeEngine engine = new FakeEngine("cpu", "v1");
        deployment.bindEngine(engine);
        await(() -> registrations.size() == 1);
        deployment.unbindEngine(engine); // bundle:update stops the engine...
        FakeEngine updated = new FakeEngine("cpu", "v1");
        deployment.bindEngine(updated); // ...and starts its new revision
        await(() -> registrations.size() == 2 && !registrations.get(0).registered());
        assertTrue(registrations.get(1).registered());
    }

    @Test
    void anUnchangedConfigurationUpdateDoesNotReloadButAChangedOneDoes() throws Exception {
        Path f = Files.writeString(dir.resolve("m.gguf"), "weights");
        Path g = Files.writeString(dir.resolve("n.gguf"), "other weights");
        ModelDeployment.Config c = config("demo", f.toString(), "", new String[0], new String[0], 30);
        deployment = new ModelDeployment(context(), c);
        FakeEngine engine = new FakeEngine("cpu", "v1");
        deployment.bindEngine(engine);
        await(() -> registrations.size() == 1);
        deployment.modified(config("demo", f.toString(), "", new String[0], new String[0], 30));
        Thread.sleep(200);
        assertEquals(1, engine.loads.get(), "same files, same engine: nothing to reload");
        deployment.modified(config("demo", g.toString(), "", new String[0], new String[0], 30));
        await(() -> engine.loads.get() == 2 && registrations.size() == 2 && !registrations.get(0).registered());
    }

    @Test
    void aFailedLoadKeepsTheModelThatWasServingAndSaysWhy() throws Exception {
        Path f = Files.writeString(dir.resolve("m.gguf"), "weights");
        deployment = new ModelDeployment(context(), config("demo", f.toString(), "", new String[0], new String[0], 30));
        FakeEngine engine = new FakeEngine("cpu", "v1");
        deployment.bindEngine(engine);
        await(() -> registrations.size() == 1);
        engine.failWith = "truncated tensor data";
        deployment.modified(config("demo", dir.resolve("missing.gguf").toString(), "", new String[0], new String[0], 30));
        await(() -> health().detail().contains("truncated tensor data"));
        assertTrue(registrations.get(0).registered(), "the previous model keeps serving");
        assertEquals(Health.Status.DEGRADED, health().status());
        assertTrue(health().ready());
    }

    private Health health() {
        return deployment.health().get(0);
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("condition not met within 10 s");
            }
            Thread.sleep(5);
        }
    }

    /** A framework that records registrations. */
    private BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("registerService")) {
                        @SuppressWarnings("unchecked")
                        Dictionary<String, Object> d = (Dictionary<String, Object>) args[2];
                        Map<String, Object> props = new java.util.HashMap<>();
                        for (var keys = d.keys(); keys.hasMoreElements();) {
                            String k = keys.nextElement();
                            props.put(k, d.get(k));
                        }
                        boolean[] live = {true};
                        registrations.add(new Registration((Model) args[1], props, live));
                        return Proxy.newProxyInstance(getClass().getClassLoader(),
                                new Class<?>[] {ServiceRegistration.class}, (p, m, a) -> {
                                    if (m.getName().equals("unregister")) {
                                        if (!live[0]) {
                                            throw new IllegalStateException("already unregistered");
                                        }
                                        live[0] = false;
                                    }
                                    return null;
                                });
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    static ModelDeployment.Config config(String name, String path, String weights, String[] overlays, String[] options,
            int graceSeconds) {
        return (ModelDeployment.Config) Proxy.newProxyInstance(ModelDeploymentTest.class.getClassLoader(),
                new Class<?>[] {ModelDeployment.Config.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "name" -> name;
                    case "path" -> path;
                    case "weights" -> weights;
                    case "overlays" -> overlays;
                    case "options" -> options;
                    case "engine_target" -> "(halyard.engine=cpu)";
                    case "engine_grace_seconds" -> graceSeconds;
                    case "annotationType" -> ModelDeployment.Config.class;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /** An engine whose models are proxies carrying a version. */
    static final class FakeEngine implements InferenceEngine {
        final String name;
        final String version;
        final AtomicInteger loads = new AtomicInteger();
        volatile String failWith;

        FakeEngine(String name, String version) {
            this.name = name;
            this.version = version;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Model load(ModelSource source) throws ModelLoadException {
            loads.incrementAndGet();
            if (failWith != null) {
                throw new ModelLoadException(source.path() + ": " + failWith);
            }
            ModelInfo info = new ModelInfo(source.name(), version, "llama", "gguf", "F32", 256, 1024, 4, 128, 4, 2,
                    32, 4, 2, 1_900_000, 7_600_000, Map.of());
            return (Model) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Model.class},
                    (p, m, a) -> switch (m.getName()) {
                        case "info" -> info;
                        case "toString" -> "FakeModel[" + version + "]";
                        case "hashCode" -> System.identityHashCode(p);
                        case "equals" -> p == a[0];
                        default -> throw new UnsupportedOperationException(m.getName());
                    });
        }
    }
}
