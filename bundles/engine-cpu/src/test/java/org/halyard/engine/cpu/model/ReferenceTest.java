package org.halyard.engine.cpu.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.halyard.engine.api.Model;
import org.halyard.engine.cpu.Fixtures;
import org.halyard.engine.cpu.kernel.Parallel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine against the PyTorch implementation that trained the demo model
 * ({@code models/halyard-shakespeare-moe/reference-outputs.json}): last-position logits within
 * 1e-3 and greedy continuations token for token, from the F32 GGUF (raw weights) and from the
 * safetensors checkpoint (raw and EMA weights).
 */
class ReferenceTest {

    static final float LOGIT_TOLERANCE = 1e-3f;

    static JsonNode ref;
    static Model gguf;
    static Model raw;
    static Model ema;

    @BeforeAll
    static void load() throws Exception {
        ref = Fixtures.references();
        gguf = Fixtures.load(Fixtures.demoF32());
        raw = Fixtures.load(Fixtures.checkpoint(), null, List.of(), Parallel.SERIAL);
        ema = Fixtures.load(Fixtures.checkpoint(), Fixtures.checkpoint().resolve("model-ema.safetensors"), List.of(),
                Parallel.SERIAL);
    }

    @Test
    void ggufLogitsAndGreedyContinuationsMatchThePyTorchReference() {
        for (JsonNode c : ref.get("cases")) {
            int[] prompt = Fixtures.ints(c.get("prompt_ids"));
            Fixtures.Run run = Fixtures.greedy(gguf, prompt, 48);
            float diff = Fixtures.maxAbsDiff(Fixtures.floats(c.get("last_logits_raw")), run.promptLogits());
            assertTrue(diff < LOGIT_TOLERANCE, c.get("prompt").asText() + ": logits differ by " + diff);
            assertArrayEquals(Fixtures.ints(c.get("greedy_raw")), run.tokens(), c.get("prompt").asText());
            assertEquals(c.get("greedy_raw_text").asText(), gguf.tokenizer().decode(run.tokens(), true));
        }
    }

    @Test
    void safetensorsRawWeightsMatchTheReference() {
        for (JsonNode c : ref.get("cases")) {
            int[] prompt = Fixtures.ints(c.get("prompt_ids"));
            Fixtures.Run run = Fixtures.greedy(raw, prompt, 48);
            float diff = Fixtures.maxAbsDiff(Fixtures.floats(c.get("last_logits_raw")), run.promptLogits());
            assertTrue(diff < LOGIT_TOLERANCE, c.get("prompt").asText() + ": logits differ by " + diff);
            assertArrayEquals(Fixtures.ints(c.get("greedy_raw")), run.tokens(), c.get("prompt").asText());
        }
    }

    @Test
    void safetensorsEmaWeightsMatchTheEmaReference() {
        for (JsonNode c : ref.get("cases")) {
            int[] prompt = Fixtures.ints(c.get("prompt_ids"));
            Fixtures.Run run = Fixtures.greedy(ema, prompt, 48);
            assertArrayEquals(Fixtures.ints(c.get("greedy_ema")), run.tokens(), c.get("prompt").asText());
            assertEquals(c.get("greedy_ema_text").asText(), ema.tokenizer().decode(run.tokens(), true));
        }
    }

    @Test
    void emaAndRawWeightsAreDifferentModels() {
        assertTrue(!raw.info().version().equals(ema.info().version()), "versions differ");
        assertEquals("ema", ema.info().metadata().get("weights.weights"));
        assertEquals("1200", ema.info().metadata().get("weights.step"));
    }
}
