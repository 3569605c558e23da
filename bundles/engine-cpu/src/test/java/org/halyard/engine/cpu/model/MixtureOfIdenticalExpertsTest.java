package org.halyard.engine.cpu.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.halyard.engine.api.Model;
import org.halyard.engine.cpu.Fixtures;
import org.halyard.engine.cpu.gguf.GGUFFile;
import org.halyard.engine.cpu.gguf.GGUFTensorInfo;
import org.halyard.engine.cpu.gguf.GGUFWriter;
import org.halyard.engine.cpu.tensor.FloatTensor;
import org.halyard.engine.cpu.tensor.GGMLType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mixture of experts whose experts are all the same feed-forward network equals the dense model
 * with that network, whatever the router says: the chosen experts' weights are renormalised to
 * sum to 1.
 */
class MixtureOfIdenticalExpertsTest {

    @TempDir
    Path tmp;

    @Test
    void identicalExpertsEqualTheDenseModel() throws Exception {
        Path dense = tmp.resolve("dense.gguf");
        TestModelGenerator.write(new TestModelGenerator.Shape("tiny", 64, 2, 4, 2, 96, 512, 0, 0, 128, false),
                GGMLType.F32, 7, dense);
        GGUFFile d = GGUFFile.read(dense);
        int experts = 4;
        GGUFWriter w = new GGUFWriter().metadataFrom(d, k -> !k.equals("general.alignment"));
        w.u32("llama.expert_count", experts).u32("llama.expert_used_count", 2);
        for (GGUFTensorInfo t : d.tensorInfos().values()) {
            FloatTensor data = d.tensor(t.name());
            String name = t.name();
            if (name.matches("blk\\.\\d+\\.ffn_(gate|up|down)\\.weight")) {
                long n = t.elements();
                long[] dims = {t.dim(0), t.dim(1), experts};
                w.tensor(name.replace(".weight", "_exps.weight"), GGMLType.F32, dims, i -> data.getFloat(i % n));
            } else {
                w.tensor(name, t.type(), t.dims(), data::getFloat);
            }
            if (name.endsWith("ffn_norm.weight")) {
                // a router with real preferences: random logits
                w.tensor(name.replace("ffn_norm", "ffn_gate_inp"), GGMLType.F32, new long[] {64, experts},
                        i -> (float) Math.sin(i * 12.9898) * 3f);
            }
        }
        Path moe = tmp.resolve("moe.gguf");
        w.write(moe);

        Model denseModel = Fixtures.load(dense);
        Model moeModel = Fixtures.load(moe);
        assertTrue(moeModel.info().isMixtureOfExperts() && !denseModel.info().isMixtureOfExperts());
        int[] prompt = denseModel.tokenizer().encode("the quick brown fox jumps over the lazy dog", true, false);
        Fixtures.Run a = Fixtures.greedy(denseModel, prompt, 8);
        Fixtures.Run b = Fixtures.greedy(moeModel, prompt, 8);
        float diff = Fixtures.maxAbsDiff(a.promptLogits(), b.promptLogits());
        assertTrue(diff < 1e-5f, "identical experts vs dense: " + diff);
        assertTrue(java.util.Arrays.equals(a.tokens(), b.tokens()));
    }
}
