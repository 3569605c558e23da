package org.halyard.engine.cpu.model;

import org.halyard.kvcache.api.KvSequence;

/**
 * The tokens of one step, flattened: prefill chunks and decode tokens of many sequences side by
 * side. Reused from step to step (grown when a larger step comes), so building it allocates
 * nothing once warm.
 *
 * <pre>
 *   token index i:  0    1    2    3    4        (sequence A: a 3-token prefill chunk,
 *   token[i]        17   9    301  5    88        sequence B: one decode token,
 *   position[i]     0    1    2    41   7         sequence C: one decode token)
 *   sequence[i]     0    0    0    1    2
 *   kv[sequence[i]] A    A    A    B    C
 * </pre>
 */
public final class Batch {

    int size;
    int[] token = new int[0];
    int[] position = new int[0];
    int[] sequence = new int[0];
    KvSequence[] kv = new KvSequence[0];
    int sequences;
    /** Token indices whose logits are wanted, and how many. */
    int[] logitRows = new int[0];
    int logitCount;

    /** Starts a new batch. */
    public void clear() {
        size = 0;
        sequences = 0;
        logitCount = 0;
    }

    /** Adds a sequence; returns its index in the batch. */
    public int addSequence(KvSequence seq) {
        if (sequences == kv.length) {
            kv = java.util.Arrays.copyOf(kv, Math.max(8, sequences * 2));
        }
        kv[sequences] = seq;
        return sequences++;
    }

    /** Adds one token of sequence {@code seq} at {@code position}; returns its token index. */
    public int addToken(int seq, int tokenId, int pos) {
        if (size == token.length) {
            int n = Math.max(16, size * 2);
            token = java.util.Arrays.copyOf(token, n);
            position = java.util.Arrays.copyOf(position, n);
            sequence = java.util.Arrays.copyOf(sequence, n);
        }
        token[size] = tokenId;
        position[size] = pos;
        sequence[size] = seq;
        return size++;
    }

    /** Asks for the logits after token index {@code i}; returns the row they will be in. */
    public int wantLogits(int i) {
        if (logitCount == logitRows.length) {
            logitRows = java.util.Arrays.copyOf(logitRows, Math.max(8, logitCount * 2));
        }
        logitRows[logitCount] = i;
        return logitCount++;
    }

    /** Tokens in the batch. */
    public int size() {
        return size;
    }

    /** Rows of logits the forward pass will produce. */
    public int logitCount() {
        return logitCount;
    }

    /** Drops references to the sequences (after the step). */
    public void release() {
        java.util.Arrays.fill(kv, 0, sequences, null);
    }
}
