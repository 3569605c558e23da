package org.halyard.engine.cpu;

import java.util.ArrayList;
import java.util.List;
import org.halyard.engine.api.LogitsProcessor;
import org.halyard.engine.api.SamplingParams;
import org.halyard.engine.api.SequenceState;

/** A test fixture: a request's tokens and sampling, growing as tokens are appended. */
public final class TestSequence implements SequenceState {

    private final String id;
    private final int promptLength;
    private final List<Integer> tokens = new ArrayList<>();
    private final SamplingParams sampling;
    private final List<LogitsProcessor> processors;

    public TestSequence(String id, int[] prompt, SamplingParams sampling, List<LogitsProcessor> processors) {
        this.id = id;
        this.promptLength = prompt.length;
        for (int t : prompt) {
            tokens.add(t);
        }
        this.sampling = sampling;
        this.processors = processors;
    }

    public TestSequence(int[] prompt) {
        this("test", prompt, SamplingParams.GREEDY, List.of());
    }

    public void append(int token) {
        tokens.add(token);
    }

    public int[] output() {
        return tokens.subList(promptLength, tokens.size()).stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String requestId() {
        return id;
    }

    @Override
    public int promptLength() {
        return promptLength;
    }

    @Override
    public int length() {
        return tokens.size();
    }

    @Override
    public int token(int index) {
        return tokens.get(index);
    }

    @Override
    public SamplingParams sampling() {
        return sampling;
    }

    @Override
    public List<LogitsProcessor> logitsProcessors() {
        return processors;
    }
}
