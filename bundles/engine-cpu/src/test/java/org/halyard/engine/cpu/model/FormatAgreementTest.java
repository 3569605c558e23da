package org.halyard.engine.cpu.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.halyard.engine.api.Model;
import org.halyard.engine.cpu.Fixtures;
import org.halyard.engine.cpu.TestModels;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.tensor.GGMLType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same weights through different files and encodings give the same model, within stated
 * tolerances (max |Δ| over all 1024 last-position logits of three reference prompts):
 *
 * <pre>
 *   F32 GGUF (adjacent RoPE)  vs safetensors F32 (rotate-half RoPE)   1e-4
 *   F32 GGUF vs F16 / BF16 GGUF                                       0.005 / 0.05
 *   F32 GGUF vs Q8_0 GGUF (the repository's file)                     0.1
 *   F32 GGUF vs Q4_0 GGUF                                             5.0  (measured 3.6: 4 bits on a tiny model)
 *   any encoding vs an F32 file holding its decoded values            1e-4 (the kernels decode exactly)
 * </pre>
 *
 * and the Q8_0 file agrees with the F32 model on the greedy continuations' first tokens.
 */
class FormatAgreementTest {

    @TempDir
    static Path tmp;

    static JsonNode ref;
    static Model f32;

    @BeforeAll
    static void load() throws Exception {
        ref = Fixtures.references();
        f32 = Fixtures.load(Fixtures.demoF32());
    }

    /** Max |Δ| of the last-position logits of three reference prompts (6, 43 and 27 tokens). */
    private static float worstLogitDiff(Model a, Model b) {
        float worst = 0;
        for (int i : new int[] {1, 4, 5}) {
            JsonNode c = ref.get("cases").get(i);
            int[] prompt = Fixtures.ints(c.get("prompt_ids"));
            worst = Math.max(worst, Fixtures.maxAbsDiff(Fixtures.greedy(a, prompt, 1).promptLogits(),
                    Fixtures.greedy(b, prompt, 1).promptLogits()));
        }
        return worst;
    }

    /** Tokens of the greedy continuations on which two models agree before they first differ, over all prompts. */
    private static int agreeingPrefix(Model a, Model b, int max) {
        int same = 0;
        for (int k : new int[] {1, 4, 5}) {
            JsonNode c = ref.get("cases").get(k);
            int[] prompt = Fixtures.ints(c.get("prompt_ids"));
            int[] x = Fixtures.greedy(a, prompt, max).tokens();
            int[] y = Fixtures.greedy(b, prompt, max).tokens();
            int i = 0;
            while (i < Math.min(x.length, y.length) && x[i] == y[i]) {
                i++;
            }
            same += i;
        }
        return same;
    }

    @Test
    void safetensorsAndGgufGiveTheSameLogits() throws Exception {
        Model st = Fixtures.load(Fixtures.checkpoint(), null, List.of(), Parallel.SERIAL);
        float diff = worstLogitDiff(f32, st);
        assertTrue(diff < 1e-4f, "safetensors vs GGUF: " + diff);
        assertEquals("safetensors", st.info().format());
        assertEquals("gguf", f32.info().format());
    }

    @Test
    void q8_0AgreesWithF32WithinTolerance() throws Exception {
        Model q8 = Fixtures.load(Fixtures.demoQ8());
        assertEquals("Q8_0", q8.info().weightType());
        float diff = worstLogitDiff(f32, q8);
        System.out.printf("logit max|diff| vs F32: Q8_0 %.5f%n", diff);
        assertTrue(diff < 0.1f, "Q8_0 vs F32: " + diff);
        Model twin = Fixtures.load(TestModels.convert(Fixtures.demoQ8(), tmp.resolve("q8-decoded.gguf"), GGMLType.F32));
        float exact = worstLogitDiff(q8, twin);
        assertTrue(exact < 1e-4f, "Q8_0 vs its decoded twin: " + exact);
        assertTrue(agreeingPrefix(f32, q8, 6) >= 3 * 4, "Q8_0 greedy tokens agree with F32");
    }

    @Test
    void f16Bf16AndQ4_0AgreeWithF32WithinTolerance() throws Exception {
        Model f16 = Fixtures.load(TestModels.convert(Fixtures.demoF32(), tmp.resolve("f16.gguf"), GGMLType.F16));
        Model bf16 = Fixtures.load(TestModels.convert(Fixtures.demoF32(), tmp.resolve("bf16.gguf"), GGMLType.BF16));
        Model q4 = Fixtures.load(TestModels.convert(Fixtures.demoF32(), tmp.resolve("q4_0.gguf"), GGMLType.Q4_0));
        assertEquals("F16", f16.info().weightType());
        assertEquals("BF16", bf16.info().weightType());
        assertEquals("Q4_0", q4.info().weightType());
        float d16 = worstLogitDiff(f32, f16);
        float dbf = worstLogitDiff(f32, bf16);
        float d4 = worstLogitDiff(f32, q4);
        System.out.printf("logit max|diff| vs F32: F16 %.5f BF16 %.5f Q4_0 %.5f%n", d16, dbf, d4);
        assertTrue(d16 < 0.005f, "F16 vs F32: " + d16);
        assertTrue(dbf < 0.05f, "BF16 vs F32: " + dbf);
        assertTrue(d4 < 5.0f, "Q4_0 vs F32: " + d4);
        assertTrue(d4 > d16, "Q4_0 is coarser than F16");
        // the noise is quantisation's, not the kernels': an F32 file of the decoded values agrees
        for (Model m : List.of(f16, bf16, q4)) {
            Path twin = TestModels.convert(tmp.resolve(m.info().weightType().toLowerCase() + ".gguf"),
                    tmp.resolve(m.info().weightType().toLowerCase() + "-decoded.gguf"), GGMLType.F32);
            float d = worstLogitDiff(m, Fixtures.load(twin));
            assertTrue(d < 1e-4f, m.info().weightType() + " vs its decoded twin: " + d);
        }
    }

    @Test
    void routerOverlaysReplaceTheRouterAndChangeTheVersion() throws Exception {
        Path ck = Fixtures.checkpoint();
        Model raw = Fixtures.load(ck, null, List.of(), Parallel.SERIAL);
        Model v2 = Fixtures.load(ck, null, List.of(Path.of("router-v2.safetensors")), Parallel.SERIAL);
        Model v1 = Fixtures.load(ck, null, List.of(Path.of("router-v1.safetensors")), Parallel.SERIAL);
        int[] prompt = Fixtures.ints(ref.get("cases").get(5).get("prompt_ids"));
        float[] base = Fixtures.greedy(raw, prompt, 1).promptLogits();
        // v2 is the router at step 1200, the same as in the raw weights
        assertArrayEquals(base, Fixtures.greedy(v2, prompt, 1).promptLogits());
        assertTrue(Fixtures.maxAbsDiff(base, Fixtures.greedy(v1, prompt, 1).promptLogits()) > 1e-3f,
                "the step-600 router routes differently");
        assertNotEquals(raw.info().version(), v2.info().version());
        assertNotEquals(v1.info().version(), v2.info().version());
        assertEquals("1", v1.info().metadata().get("overlay.router-v1.safetensors.router_version"));
        // and laid over the GGUF file (Hugging Face names mapped to GGUF names)
        Model ggufV1 = Fixtures.load(Fixtures.demoF32(), null, List.of(ck.resolve("router-v1.safetensors")),
                Parallel.SERIAL);
        assertTrue(Fixtures.maxAbsDiff(Fixtures.greedy(v1, prompt, 1).promptLogits(),
                Fixtures.greedy(ggufV1, prompt, 1).promptLogits()) < 1e-4f);
    }
}
