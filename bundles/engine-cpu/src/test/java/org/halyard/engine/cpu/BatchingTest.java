package org.halyard.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelSource;
import org.halyard.engine.api.StepEntry;
import org.halyard.engine.api.StepResult;
import org.halyard.engine.cpu.kernel.WorkerPool;
import org.halyard.kvcache.api.KvSequenceInvalidException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A step that carries prefill chunks and decode tokens of several sequences gives each sequence
 * exactly what it gets when run alone, one step per sequence, on one thread. The batched runs use
 * worker threads, so the parallel code paths are compared against the serial ones too.
 */
class BatchingTest {

    static ExecutorService threads;
    static Model serial;
    static Model parallel;
    static JsonNode ref;

    @BeforeAll
    static void load() throws Exception {
        threads = Executors.newFixedThreadPool(3);
        serial = Fixtures.load(Fixtures.demoF32());
        parallel = ModelLoader.load(ModelSource.of("parallel", Fixtures.demoF32()), new WorkerPool(threads, 4));
        ref = Fixtures.references();
    }

    @AfterAll
    static void stop() {
        threads.shutdownNow();
    }

    private static int[] prompt(int i) {
        return Fixtures.ints(ref.get("cases").get(i).get("prompt_ids"));
    }

    @Test
    void chunkedPrefillsAndDecodesOfManySequencesInOneStepEqualRunningEachAlone() {
        int[][] prompts = {prompt(4), prompt(1), prompt(5), prompt(2)};
        int decode = 12;
        // alone: one sequence at a time, prompt in one step, on one thread
        List<Fixtures.Run> alone = new ArrayList<>();
        for (int[] p : prompts) {
            alone.add(Fixtures.greedy(serial, p, decode));
        }
        // together: prefills cut into chunks of different sizes, sharing steps with decodes
        int n = prompts.length;
        TestSequence[] seqs = new TestSequence[n];
        TestKv[] kvs = new TestKv[n];
        int[] fed = new int[n];
        float[][] firstLogits = new float[n][];
        for (int i = 0; i < n; i++) {
            seqs[i] = new TestSequence(prompts[i]);
            kvs[i] = new TestKv("s" + i, parallel.kvLayout(), prompts[i].length + decode + 1);
        }
        int[] chunk = {16, 4, 10, 3};
        int steps = 0;
        while (true) {
            List<StepEntry> entries = new ArrayList<>();
            List<Integer> who = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (seqs[i].output().length >= decode) {
                    continue;
                }
                int count = Math.min(chunk[i], seqs[i].length() - fed[i]);
                boolean last = fed[i] + count == seqs[i].length();
                entries.add(new StepEntry(seqs[i], kvs[i], fed[i], count, last, last && firstLogits[i] == null));
                who.add(i);
            }
            if (entries.isEmpty()) {
                break;
            }
            StepResult r = parallel.step(entries);
            steps++;
            for (int j = 0; j < entries.size(); j++) {
                int i = who.get(j);
                StepEntry e = entries.get(j);
                int[] tokens = new int[e.count()];
                for (int t = 0; t < e.count(); t++) {
                    tokens[t] = seqs[i].token(e.start() + t);
                }
                kvs[i].commit(tokens, 0, e.count());
                fed[i] += e.count();
                if (e.returnLogits()) {
                    firstLogits[i] = r.logits(j);
                }
                if (e.sample()) {
                    seqs[i].append(r.sample(j).token());
                }
            }
        }
        assertTrue(steps > decode, "prefill chunks and decodes were interleaved over " + steps + " steps");
        for (int i = 0; i < n; i++) {
            int[] expected = java.util.Arrays.copyOf(alone.get(i).tokens(), Math.min(decode, alone.get(i).tokens().length));
            int[] got = java.util.Arrays.copyOf(seqs[i].output(), expected.length);
            assertArrayEquals(expected, got, "sequence " + i);
            assertTrue(Fixtures.maxAbsDiff(alone.get(i).promptLogits(), firstLogits[i]) <= 1e-5f, "sequence " + i);
        }
    }

    @Test
    void stepRejectsEntriesThatDoNotFitAndLeavesTheModelUsable() {
        int[] p = prompt(1);
        TestSequence seq = new TestSequence(p);
        TestKv kv = new TestKv("bad", serial.kvLayout(), p.length);
        // the KV sequence already holds nothing, so starting at 2 is wrong
        assertThrows(IllegalArgumentException.class, () -> serial.step(List.of(StepEntry.sampling(seq, kv, 2, 2))));
        // past the capacity
        TestKv small = new TestKv("small", serial.kvLayout(), 3);
        assertThrows(IllegalArgumentException.class, () -> serial.step(List.of(StepEntry.sampling(seq, small, 0, p.length))));
        // a token outside the vocabulary
        TestSequence outside = new TestSequence(new int[] {1, 5000});
        assertThrows(IllegalArgumentException.class,
                () -> serial.step(List.of(StepEntry.sampling(outside, new TestKv("o", serial.kvLayout(), 4), 0, 2))));
        // the same KV sequence twice
        TestKv twice = new TestKv("twice", serial.kvLayout(), 8);
        assertThrows(IllegalArgumentException.class, () -> serial.step(List.of(StepEntry.sampling(seq, twice, 0, 1),
                StepEntry.sampling(seq, twice, 0, 1))));
        // a dropped sequence
        TestKv dropped = new TestKv("dropped", serial.kvLayout(), 8);
        dropped.invalidate();
        assertThrows(KvSequenceInvalidException.class, () -> serial.step(List.of(StepEntry.sampling(seq, dropped, 0, 1))));
        // and the model still works
        assertArrayEquals(Fixtures.ints(ref.get("cases").get(1).get("greedy_raw")),
                Fixtures.greedy(serial, p, 48).tokens());
    }

    @Test
    void emptyStepDoesNothing() {
        StepResult r = serial.step(List.of());
        assertEquals(0, r.size());
    }
}
