package org.halyard.engine.cpu.tokenizer;

import java.util.PriorityQueue;

/**
 * The BPE merge loop both tokenizers share: start from single symbols and repeatedly merge the
 * adjacent pair with the best rank (lowest; ties go to the leftmost pair) until no pair can be
 * merged. SentencePiece ranks a pair by minus the score of the merged token; byte-level BPE by
 * the pair's position in the merge list.
 *
 * <pre>
 *   "▁", "h", "e", "l", "l", "o"   →  "▁", "he", "l", "l", "o"  →  ...  →  "▁hello"
 *   symbols form a linked list (prev/next); stale queue entries are skipped when polled
 * </pre>
 */
final class BpeMerges {

    /** Ranks the merge of two adjacent symbols; {@link Double#POSITIVE_INFINITY} when they cannot merge. */
    interface Ranker {
        double rank(String left, String right);
    }

    private record Candidate(double rank, int left, int right, int length) implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate o) {
            int c = Double.compare(rank, o.rank);
            return c != 0 ? c : Integer.compare(left, o.left);
        }
    }

    private BpeMerges() {
    }

    /** Merges {@code symbols} in place; returns how many remain (the first {@code n} entries, in order). */
    static int merge(String[] symbols, Ranker ranker) {
        int n = symbols.length;
        if (n < 2) {
            return n;
        }
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, symbols, ranker, i, i + 1);
        }
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            String l = symbols[c.left()];
            String r = c.right() >= 0 ? symbols[c.right()] : null;
            // stale: one side was merged away or grew since the candidate was queued
            if (l == null || r == null || next[c.left()] != c.right() || l.length() + r.length() != c.length()) {
                continue;
            }
            symbols[c.left()] = l + r;
            symbols[c.right()] = null;
            int after = next[c.right()];
            next[c.left()] = after;
            if (after >= 0) {
                prev[after] = c.left();
            }
            if (prev[c.left()] >= 0) {
                offer(queue, symbols, ranker, prev[c.left()], c.left());
            }
            if (after >= 0) {
                offer(queue, symbols, ranker, c.left(), after);
            }
        }
        int m = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            symbols[m++] = symbols[i];
        }
        return m;
    }

    private static void offer(PriorityQueue<Candidate> queue, String[] symbols, Ranker ranker, int left, int right) {
        double rank = ranker.rank(symbols[left], symbols[right]);
        if (rank != Double.POSITIVE_INFINITY) {
            queue.add(new Candidate(rank, left, right, symbols[left].length() + symbols[right].length()));
        }
    }

    /** The text split into code points. */
    static String[] codePoints(String text) {
        return text.codePoints().mapToObj(Character::toString).toArray(String[]::new);
    }
}
