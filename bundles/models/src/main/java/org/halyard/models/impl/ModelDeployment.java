package org.halyard.models.impl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.engine.api.InferenceEngine;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelSource;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One served model: loads the configured files on the selected engine and publishes the result
 * as a {@link Model} service. One instance per factory configuration
 * ({@code etc/org.halyard.models.deployment-<name>.cfg}).
 *
 * <p>Hot swap: when the engine is replaced (a newer engine bundle, another backend) or the
 * configuration changes, the model is loaded again in the background and the new service is
 * registered before the old one is withdrawn, so there is always a model to route new requests
 * to; requests already running finish on the instance they started on (models are plain memory).
 * When the engine goes away without a replacement (a {@code bundle:update} stops it before the
 * new revision starts), the loaded model keeps serving for {@code engine.grace.seconds}; if no
 * engine comes back by then, it is withdrawn.
 */
@Component(configurationPid = ModelDeployment.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = HealthContributor.class)
@Designate(ocd = ModelDeployment.Config.class, factory = true)
public class ModelDeployment implements HealthContributor {

    /** The factory PID of deployments. */
    public static final String PID = "org.halyard.models.deployment";

    private static final Logger LOG = LoggerFactory.getLogger(ModelDeployment.class);

    /** A deployment's configuration. */
    @ObjectClassDefinition(name = "Halyard model deployment",
            description = "A model served by this node: its files and the engine that runs it")
    public @interface Config {

        @AttributeDefinition(description = "The name clients use in the 'model' field")
        String name();

        @AttributeDefinition(description = "A GGUF file or a Hugging Face checkpoint directory; "
                + "relative paths are resolved against the Karaf home directory")
        String path();

        @AttributeDefinition(description = "For a checkpoint directory: the weights file to load "
                + "(for example model-ema.safetensors); empty for every shard")
        String weights() default "";

        @AttributeDefinition(description = "Safetensors files laid over the weights, in order "
                + "(for example a router version)")
        String[] overlays() default {};

        @AttributeDefinition(description = "Engine-specific options as key=value")
        String[] options() default {};

        @AttributeDefinition(description = "Filter selecting the engine, for example (halyard.engine=cpu)")
        String engine_target() default "(halyard.engine=cpu)";

        @AttributeDefinition(description = "How long a loaded model keeps serving after its engine "
                + "went away, waiting for a replacement engine (seconds)")
        int engine_grace_seconds() default 30;
    }

    private final BundleContext context;
    private final ScheduledExecutorService loader;
    private volatile Config config;
    private volatile InferenceEngine engine;
    private volatile State state = new State(Phase.WAITING, "waiting for an engine", null);

    private record Loaded(Model model, InferenceEngine engine, ServiceRegistration<Model> registration,
            ModelSource source, List<String> files) {
    }

    private enum Phase { WAITING, LOADING, SERVING, FAILED }

    private record State(Phase phase, String detail, Loaded loaded) {
    }

    @Activate
    public ModelDeployment(BundleContext context, Config config) {
        this.context = context;
        this.config = config;
        this.loader = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "halyard-model-loader-" + config.name());
            t.setDaemon(true);
            return t;
        });
        reload();
    }

    @Modified
    void modified(Config config) {
        this.config = config;
        reload();
    }

    @Reference(name = "engine", policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            cardinality = ReferenceCardinality.OPTIONAL)
    void bindEngine(InferenceEngine engine) {
        this.engine = engine;
        if (loader != null) {
            reload();
        }
    }

    void unbindEngine(InferenceEngine gone) {
        if (this.engine == gone) {
            this.engine = null;
            // keep serving for a grace period: a bundle update stops the engine before its new
            // revision starts, and the model still works (it holds only memory)
            whileActive(() -> loader.schedule(() -> {
                State s = state;
                if (s.loaded() != null && s.loaded().engine() == gone && this.engine == null) {
                    LOG.warn("Model deployment {}: engine {} did not come back; withdrawing the model",
                            config.name(), gone.name());
                    // health says DOWN before the service goes: whoever sees it gone sees why
                    state = new State(Phase.WAITING, "waiting for an engine matching " + config.engine_target(), null);
                    unregister(s.loaded());
                }
            }, Math.max(0, config.engine_grace_seconds()), TimeUnit.SECONDS));
        }
    }

    @Deactivate
    void deactivate() {
        loader.shutdownNow();
        try {
            loader.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        State s = state;
        if (s.loaded() != null) {
            unregister(s.loaded());
        }
    }

    private void reload() {
        whileActive(() -> loader.execute(this::load));
    }

    /**
     * Runs a scheduling action unless the component is deactivated: DS unbinds dynamic
     * references after {@code @Deactivate}, when the loader no longer takes work.
     */
    private void whileActive(Runnable schedule) {
        if (loader.isShutdown()) {
            return;
        }
        try {
            schedule.run();
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // deactivated between the check and the call: nothing is left to load or withdraw
        }
    }

    /** Runs on the loader thread only. */
    private void load() {
        InferenceEngine e = engine;
        Config c = config;
        State previous = state;
        if (e == null) {
            if (previous.loaded() == null) {
                state = new State(Phase.WAITING, "waiting for an engine matching " + c.engine_target(), null);
            }
            return;
        }
        ModelSource source = source(c);
        List<String> files = fingerprint(source);
        if (previous.loaded() != null && previous.loaded().engine() == e && previous.phase() == Phase.SERVING
                && previous.loaded().source().equals(source) && previous.loaded().files().equals(files)) {
            // a configuration update that changes nothing the model is made of (Karaf's file
            // watcher adds its own property after start), or the same engine bound again
            return;
        }
        state = new State(Phase.LOADING, "loading " + c.path() + " on engine " + e.name(), previous.loaded());
        long t0 = System.nanoTime();
        Model model;
        try {
            model = e.load(source);
        } catch (Exception | OutOfMemoryError ex) {
            LOG.error("Model deployment {}: loading {} failed: {}", c.name(), c.path(), ex.getMessage(), ex);
            state = new State(Phase.FAILED, "load failed: " + ex.getMessage(), previous.loaded());
            return;
        }
        if (Thread.currentThread().isInterrupted()) {
            return;
        }
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(Model.NAME, c.name());
        props.put(Model.VERSION, model.info().version());
        props.put(InferenceEngine.ENGINE, e.name());
        props.put(Constants.SERVICE_DESCRIPTION, "Halyard model " + c.name());
        ServiceRegistration<Model> reg = context.registerService(Model.class, model, props);
        Loaded now = new Loaded(model, e, reg, source, files);
        state = new State(Phase.SERVING, "serving " + model.info().architecture() + " "
                + model.info().weightType() + " on engine " + e.name(), now);
        if (previous.loaded() != null) {
            unregister(previous.loaded());
        }
        LOG.info("Model deployment {}: serving {} (version {}) on engine {}, loaded in {} ms", c.name(),
                c.path(), model.info().version(), e.name(), (System.nanoTime() - t0) / 1_000_000);
    }

    private static void unregister(Loaded loaded) {
        try {
            loaded.registration().unregister();
        } catch (IllegalStateException alreadyGone) {
            // the bundle is stopping and the framework unregistered it first
        }
    }

    static ModelSource source(Config c) {
        Path path = resolve(c.path());
        Path weights = c.weights() == null || c.weights().isBlank() ? null : path.resolve(c.weights());
        List<Path> overlays = new ArrayList<>();
        // a .cfg file gives a list as one comma-separated string
        for (String o : Arrays.stream(c.overlays()).flatMap(x -> Arrays.stream(x.split(","))).toList()) {
            if (!o.isBlank()) {
                Path p = Path.of(o.trim());
                overlays.add(p.isAbsolute() ? p : (Files.isDirectory(path) ? path.resolve(p) : resolve(o.trim())));
            }
        }
        Map<String, String> options = new LinkedHashMap<>();
        Arrays.stream(c.options()).flatMap(x -> Arrays.stream(x.split(","))).filter(o -> o.contains("=")).forEach(o -> {
            int i = o.indexOf('=');
            options.put(o.substring(0, i).trim(), o.substring(i + 1).trim());
        });
        return new ModelSource(c.name(), path, weights, overlays, options);
    }

    /** Size and modification time of every file the source names: a replaced file reloads. */
    static List<String> fingerprint(ModelSource source) {
        List<Path> paths = new ArrayList<>();
        paths.add(source.path());
        if (source.weights() != null) {
            paths.add(source.weights());
        }
        paths.addAll(source.overlays());
        List<String> out = new ArrayList<>();
        for (Path p : paths) {
            try (var files = Files.isDirectory(p) ? Files.list(p) : java.util.stream.Stream.of(p)) {
                for (Path f : files.sorted().toList()) {
                    out.add(f + ":" + Files.size(f) + ":" + Files.getLastModifiedTime(f).toMillis());
                }
            } catch (java.io.IOException | RuntimeException e) {
                out.add(p + ":unreadable");
            }
        }
        return out;
    }

    static Path resolve(String path) {
        Path p = Path.of(path.trim());
        if (p.isAbsolute()) {
            return p;
        }
        String home = System.getProperty("karaf.home", System.getProperty("user.dir"));
        return Path.of(home).resolve(p).normalize();
    }

    @Override
    public List<Health> health() {
        State s = state;
        Config c = config;
        String component = "model/" + c.name();
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put("path", c.path());
        if (s.loaded() != null) {
            var info = s.loaded().model().info();
            attrs.put("version", info.version());
            attrs.put("engine", s.loaded().engine().name());
            attrs.put("weights", info.weightType());
            attrs.put("parameters", Long.toString(info.parameters()));
        }
        Health h = switch (s.phase()) {
            case SERVING -> new Health(component, Health.Status.UP, true, s.detail(), attrs);
            case LOADING -> new Health(component, s.loaded() != null ? Health.Status.UP : Health.Status.DEGRADED,
                    s.loaded() != null, s.detail(), attrs);
            case WAITING -> new Health(component, Health.Status.DOWN, false, s.detail(), attrs);
            case FAILED -> new Health(component, s.loaded() != null ? Health.Status.DEGRADED : Health.Status.DOWN,
                    s.loaded() != null, s.detail(), attrs);
        };
        return List.of(h);
    }
}
