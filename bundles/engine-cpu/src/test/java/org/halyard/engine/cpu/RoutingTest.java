package org.halyard.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.halyard.engine.api.LayerRouting;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.model.Batch;
import org.halyard.engine.cpu.model.Workspace;
import org.junit.jupiter.api.Test;

/**
 * The mixture-of-experts router against the reference: for the chat prompt, per layer and token,
 * the router's probabilities, the two chosen experts and their renormalised weights; and the
 * per-layer telemetry a step reports (expert load, router entropy) derived from them.
 */
class RoutingTest {

    @Test
    void routerDecisionsMatchTheReferencePerLayerAndToken() throws Exception {
        JsonNode ref = Fixtures.references();
        CpuModel model = (CpuModel) Fixtures.load(Fixtures.demoF32());
        int[] prompt = Fixtures.ints(ref.get("cases").get(5).get("prompt_ids"));
        assertEquals(ref.get("routing_prompt").asText(), ref.get("cases").get(5).get("prompt").asText());
        JsonNode routing = ref.get("routing");

        Batch b = new Batch();
        TestKv kv = new TestKv("routing", model.kvLayout(), prompt.length);
        int seq = b.addSequence(kv);
        for (int i = 0; i < prompt.length; i++) {
            b.addToken(seq, prompt[i], i);
        }
        Workspace ws = new Workspace();
        Map<Integer, Integer> checked = new HashMap<>();
        ws.observer((layer, tokens, probs, choice, weights) -> {
            JsonNode l = routing.get(Integer.toString(layer));
            assertEquals(prompt.length, tokens);
            for (int t = 0; t < tokens; t++) {
                float[] p = Fixtures.floats(l.get("probs").get(t));
                for (int e = 0; e < p.length; e++) {
                    assertEquals(p[e], probs[t * 4 + e], 1e-4f, "layer " + layer + " token " + t + " p[" + e + "]");
                }
                int[] experts = Fixtures.ints(l.get("experts").get(t));
                float[] w = Fixtures.floats(l.get("weights").get(t));
                assertArrayEquals(experts, new int[] {choice[t * 2], choice[t * 2 + 1]}, "layer " + layer + " token " + t);
                assertEquals(w[0], weights[t * 2], 1e-4f);
                assertEquals(w[1], weights[t * 2 + 1], 1e-4f);
            }
            checked.merge(layer, tokens, Integer::sum);
        });
        model.llama().forward(b, ws, Parallel.SERIAL, new java.util.ArrayList<>());
        assertEquals(Map.of(0, prompt.length, 1, prompt.length, 2, prompt.length, 3, prompt.length), checked);
    }

    @Test
    void stepReportsExpertLoadAndRouterEntropyPerLayer() throws Exception {
        JsonNode ref = Fixtures.references();
        CpuModel model = (CpuModel) Fixtures.load(Fixtures.demoF32());
        int[] prompt = Fixtures.ints(ref.get("cases").get(5).get("prompt_ids"));
        TestSequence seq = new TestSequence(prompt);
        TestKv kv = new TestKv("telemetry", model.kvLayout(), prompt.length);
        StepResult r = model.step(List.of(StepEntry.prefill(seq, kv, 0, prompt.length)));
        assertEquals(4, r.routing().size());
        for (LayerRouting lr : r.routing()) {
            JsonNode l = ref.get("routing").get(Integer.toString(lr.layer()));
            long[] load = new long[4];
            double entropy = 0;
            for (int t = 0; t < prompt.length; t++) {
                for (JsonNode e : l.get("experts").get(t)) {
                    load[e.asInt()]++;
                }
                for (JsonNode p : l.get("probs").get(t)) {
                    entropy -= p.asDouble() * Math.log(p.asDouble());
                }
            }
            assertEquals(prompt.length, lr.tokens());
            assertArrayEquals(load, lr.expertTokens(), "layer " + lr.layer());
            assertEquals(entropy, lr.entropySum(), 1e-3, "layer " + lr.layer());
            assertTrue(lr.meanEntropy() > 0 && lr.meanEntropy() <= Math.log(4) + 1e-6);
        }
        assertEquals(null, r.sample(0), "a prefill chunk that does not sample has no token");
    }
}
