package org.halyard.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Annotation;
import java.util.List;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelSource;
import org.junit.jupiter.api.Test;

/** The engine component: threads from its configuration, and models that outlive it. */
class CpuEngineTest {

    static CpuEngine.Config config(int threads) {
        return new CpuEngine.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return CpuEngine.Config.class;
            }

            @Override
            public int threads() {
                return threads;
            }
        };
    }

    @Test
    void modelKeepsWorkingOnTheCallersThreadAfterItsEngineIsDeactivated() throws Exception {
        CpuEngine engine = new CpuEngine(config(3));
        assertEquals("cpu", engine.name());
        assertEquals(3, engine.threads());
        Model model = engine.load(ModelSource.of("demo", Fixtures.demoF32()));
        int[] prompt = Fixtures.ints(Fixtures.references().get("cases").get(1).get("prompt_ids"));
        int[] before = Fixtures.greedy(model, prompt, 48).tokens();
        engine.deactivate();
        int[] after = Fixtures.greedy(model, prompt, 48).tokens();
        assertArrayEquals(before, after);
        assertArrayEquals(Fixtures.ints(Fixtures.references().get("cases").get(1).get("greedy_raw")), after);
    }

    @Test
    void defaultThreadsAreTheAvailableProcessors() {
        CpuEngine engine = new CpuEngine(config(0));
        assertEquals(Runtime.getRuntime().availableProcessors(), engine.threads());
        engine.deactivate();
    }

    @Test
    void modelInfoDescribesTheLoadedFiles() throws Exception {
        CpuEngine engine = new CpuEngine(config(1));
        Model m = engine.load(ModelSource.of("demo", Fixtures.demoF32()));
        var info = m.info();
        assertEquals("demo", info.name());
        assertTrue(info.version().matches("sha256:[0-9a-f]{64}"), info.version());
        assertEquals("llama", info.architecture());
        assertEquals(List.of(4, 128, 4, 2, 32, 4, 2, 1024, 256),
                List.of(info.layers(), info.embeddingDim(), info.heads(), info.kvHeads(), info.headDim(), info.experts(),
                        info.expertsUsed(), info.vocabSize(), info.contextLength()));
        assertEquals("MIT", info.metadata().get("general.license"));
        assertTrue(info.parameters() > 1_800_000 && info.parameters() < 2_000_000, "parameters " + info.parameters());
        assertEquals(info.version(), engine.load(ModelSource.of("again", Fixtures.demoF32())).info().version(),
                "the same file is the same version");
        assertEquals(4, m.kvLayout().layers());
        assertTrue(m.chatTemplate().orElseThrow().contains("ASSISTANT"));
        engine.deactivate();
    }
}
