package org.halyard.engine.cpu.kernel;

/**
 * A parallel for-loop over {@code [0, n)}, cut into at most {@link #maxChunks()} contiguous
 * chunks. Each chunk runs on one thread, so a body may use scratch memory indexed by its chunk
 * number without locking:
 *
 * <pre>
 *   [0 ........................................ n)
 *   | chunk 0 | chunk 1 | chunk 2 | ... | chunk c-1 |      c = min(n, maxChunks())
 * </pre>
 */
public interface Parallel {

    /** The most chunks a loop is cut into; scratch sized by this suffices for any loop. */
    int maxChunks();

    /** Runs {@code body} over {@code [0, n)} and returns when every chunk has run. */
    void forRange(int n, Body body);

    /** A loop body over one chunk. */
    @FunctionalInterface
    interface Body {
        void run(int chunk, int from, int to);
    }

    /** Everything on the caller's thread, one chunk. */
    Parallel SERIAL = new Parallel() {
        @Override
        public int maxChunks() {
            return 1;
        }

        @Override
        public void forRange(int n, Body body) {
            if (n > 0) {
                body.run(0, 0, n);
            }
        }
    };
}
