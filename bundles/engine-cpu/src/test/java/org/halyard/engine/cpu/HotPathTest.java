package org.halyard.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.halyard.engine.api.ModelSource;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.kernel.WorkerPool;
import org.halyard.engine.cpu.model.Batch;
import org.halyard.engine.cpu.model.TestModelGenerator;
import org.halyard.engine.cpu.model.Workspace;
import org.halyard.engine.cpu.tensor.GGMLType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hot path of a dense model's forward pass: once warm, a step allocates nothing on the
 * caller or on the worker threads and starts no thread; and the same tokens give the same
 * logits on one thread and on the pool, alone and batched.
 */
class HotPathTest {

    @TempDir
    static Path tmp;
    static ExecutorService executor;
    static final List<Thread> workers = new CopyOnWriteArrayList<>();
    static WorkerPool pool;
    static CpuModel serial;
    static CpuModel parallel;

    @BeforeAll
    static void load() throws Exception {
        // dense, with whole panels (packed matrices) and a tied head
        TestModelGenerator.Shape shape = new TestModelGenerator.Shape("hot", 128, 2, 4, 2, 256, 512, 0, 0, 512, true);
        Path file = tmp.resolve("hot-q8_0.gguf");
        TestModelGenerator.write(shape, GGMLType.Q8_0, 7, file);
        executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "hot-path-worker");
            t.setDaemon(true);
            workers.add(t);
            return t;
        });
        pool = new WorkerPool(executor, 3);
        serial = (CpuModel) ModelLoader.load(ModelSource.of("hot", file), Parallel.SERIAL);
        parallel = (CpuModel) ModelLoader.load(ModelSource.of("hot", file), pool);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        pool.close();
        executor.shutdown();
        assertTrue(executor.awaitTermination(5, TimeUnit.SECONDS));
    }

    /** Decode steps of three sequences at growing positions, through the model's forward pass. */
    private static final class Steps {
        final Batch batch = new Batch();
        final Workspace ws = new Workspace();
        final TestKv[] kv = new TestKv[3];
        final List<org.halyard.engine.api.LayerRouting> routing = new ArrayList<>();
        int position;

        Steps(CpuModel m) {
            for (int s = 0; s < kv.length; s++) {
                kv[s] = new TestKv("s" + s, m.kvLayout(), 256);
            }
        }

        void step(CpuModel m, Parallel par) {
            batch.clear();
            for (int s = 0; s < kv.length; s++) {
                int seq = batch.addSequence(kv[s]);
                batch.wantLogits(batch.addToken(seq, (7 * position + 13 * s) % 512, position));
            }
            m.llama().forward(batch, ws, par, routing);
            batch.release();
            position++;
        }
    }

    @Test
    void aWarmStepAllocatesNothingAndStartsNoThread() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        // until the JIT has compiled the kernels their vectors are objects: warm up, then look for
        // a window of 10 steps without allocation (on a loaded machine compiling takes a while)
        int threadsBefore = -1;
        long allocated = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (allocated != 0 && System.nanoTime() < deadline) {
            Steps steps = new Steps(parallel);
            for (int i = 0; i < 100; i++) {
                steps.step(parallel, pool);
            }
            threadsBefore = workers.size();
            long[] ids = new long[workers.size() + 1];
            ids[0] = Thread.currentThread().getId();
            for (int i = 0; i < workers.size(); i++) {
                ids[i + 1] = workers.get(i).getId();
            }
            // the counters' own result array is allocated on this thread: measure that overhead too
            long first = sum(mx.getThreadAllocatedBytes(ids));
            long before = sum(mx.getThreadAllocatedBytes(ids));
            long overhead = before - first;
            for (int i = 0; i < 10; i++) {
                steps.step(parallel, pool);
            }
            allocated = sum(mx.getThreadAllocatedBytes(ids)) - before - overhead;
        }
        assertEquals(0, allocated, "bytes allocated by 10 warm decode steps of 3 sequences");
        assertEquals(threadsBefore, workers.size(), "no thread started");
    }

    private static long sum(long[] v) {
        long s = 0;
        for (long x : v) {
            s += Math.max(0, x);
        }
        return s;
    }

    @Test
    void theWorkerPoolAndOneThreadGiveTheSameLogits() {
        Steps a = new Steps(serial);
        Steps b = new Steps(parallel);
        for (int i = 0; i < 5; i++) {
            a.step(serial, Parallel.SERIAL);
            b.step(parallel, pool);
            int n = 3 * 512;
            // the same arithmetic in the same order on any thread; the last bit may still differ
            // when one side runs a kernel interpreted and the other JIT-compiled (the compiled
            // vector reductions may add lanes in another order than the Java fallback)
            assertArrayEquals(java.util.Arrays.copyOf(a.ws.logits(), n), java.util.Arrays.copyOf(b.ws.logits(), n), 1e-5f,
                    "step " + i);
        }
    }
}
