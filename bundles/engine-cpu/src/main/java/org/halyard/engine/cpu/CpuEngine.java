package org.halyard.engine.cpu;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.halyard.engine.api.InferenceEngine;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelLoadException;
import org.halyard.engine.api.ModelSource;
import org.halyard.engine.cpu.kernel.Kernels;
import org.halyard.engine.cpu.kernel.WorkerPool;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pure-Java CPU engine as an OSGi service ({@code halyard.engine=cpu}): loads GGUF files and
 * Hugging Face checkpoints into {@link Model}s whose steps run on this component's worker
 * threads. Scope: Llama-family decoders, dense and mixture-of-experts; F32, F16, BF16, Q8_0 and
 * Q4_0 weights; Vector API kernels with scalar references.
 *
 * <p>Models outlive the component: when it is deactivated (the bundle is updated) its threads
 * stop, and the models it loaded keep serving, running their steps on the caller's thread, until
 * their deployments load them again on the new engine.
 */
@Component(service = InferenceEngine.class, configurationPid = CpuEngine.PID,
        property = InferenceEngine.ENGINE + "=" + CpuEngine.NAME)
@Designate(ocd = CpuEngine.Config.class)
public class CpuEngine implements InferenceEngine {

    /** Configuration PID. */
    public static final String PID = "org.halyard.engine.cpu";
    /** The engine's name ({@link InferenceEngine#ENGINE}). */
    public static final String NAME = "cpu";

    private static final Logger LOG = LoggerFactory.getLogger(CpuEngine.class);

    /** The engine's configuration. */
    @ObjectClassDefinition(name = "Halyard CPU engine",
            description = "The pure-Java inference engine: worker threads of its forward passes")
    public @interface Config {

        @AttributeDefinition(description = "Threads that work on one step, counting the caller's; "
                + "0 for the number of available processors (the container's cores)")
        int threads() default 0;
    }

    private final ExecutorService workers;
    private final WorkerPool pool;

    @Activate
    public CpuEngine(Config config) {
        int threads = config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors();
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(Math.max(1, threads - 1), r -> {
            Thread t = new Thread(r, "halyard-engine-cpu-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.pool = new WorkerPool(workers, threads);
        LOG.info("CPU engine: {} threads, vector width {} bits", threads, Kernels.VECTOR_BITS);
    }

    @Deactivate
    void deactivate() {
        // helpers leave their loops; running steps finish (the caller claims what is left) and
        // models loaded here keep working on their callers' threads
        pool.close();
        workers.shutdown();
        try {
            if (!workers.awaitTermination(10, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Threads that work on a step. */
    public int threads() {
        return pool.threads();
    }

    @Override
    public Model load(ModelSource source) throws ModelLoadException {
        long t0 = System.nanoTime();
        Model m = ModelLoader.load(source, pool);
        LOG.info("Loaded {} from {}: {} {} {} layers, {} parameters, {} MB of weights, in {} ms", source.name(),
                source.path(), m.info().architecture(), m.info().weightType(), m.info().layers(),
                m.info().parameters(), m.info().sizeBytes() >> 20, (System.nanoTime() - t0) / 1_000_000);
        return m;
    }
}
