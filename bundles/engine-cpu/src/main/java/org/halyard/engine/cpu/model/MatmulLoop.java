package org.halyard.engine.cpu.model;

import org.halyard.engine.cpu.kernel.Kernels;
import org.halyard.engine.cpu.kernel.Parallel;
import org.halyard.engine.cpu.tensor.Matrix;

/**
 * One parallel loop over the rows of up to three matrices that read the same activations (the
 * q/k/v projections; the gate and up projections), so a layer's products cost one hand-over to
 * the worker threads instead of one per matrix. Reused from loop to loop: setting it up and
 * running it allocates nothing.
 *
 * <pre>
 *   rows of the loop:   [ M0 rows | M1 rows | M2 rows ]   cut into items of 16 rows, claimed by threads
 *   out_i[t*stride_i + r] (+)= M_i[r] · x[t*xStride ..]   t &lt; tokens
 *
 *   SwiGLU mode:        items are rows r of gate and up together; after both products
 *                       gateOut[t][r] = silu(gateOut[t][r]) * upOut[t][r]
 * </pre>
 */
final class MatmulLoop implements Parallel.Body {

    /**
     * Rows per work item: a panel of a packed matrix, so threads split matrices on panel
     * boundaries (rows of a panel split between threads would go through the scalar kernels).
     */
    private static final int ROWS = Kernels.PANEL;

    private final Matrix[] m = new Matrix[3];
    private final float[][] out = new float[3][];
    private final int[] outStride = new int[3];
    private int count;
    private int totalRows;
    private float[] x;
    private int xStride;
    private int tokens;
    private boolean accumulate;
    private boolean swiglu;

    /** Starts a loop over activations {@code x} ({@code tokens} rows of {@code xStride}). */
    MatmulLoop of(float[] x, int xStride, int tokens, boolean accumulate) {
        this.x = x;
        this.xStride = xStride;
        this.tokens = tokens;
        this.accumulate = accumulate;
        this.swiglu = false;
        this.count = 0;
        this.totalRows = 0;
        return this;
    }

    /** Adds a matrix whose row {@code r} for token {@code t} goes to {@code out[t*stride + r]}. */
    MatmulLoop add(Matrix matrix, float[] output, int stride) {
        m[count] = matrix;
        out[count] = output;
        outStride[count] = stride;
        count++;
        totalRows += matrix.rows();
        return this;
    }

    /** {@code gateOut = silu(gate x) * (up x)}: both products and the activation in one loop. */
    void swiglu(Parallel par, Matrix gate, Matrix up, float[] x, int tokens, float[] gateOut, float[] upOut) {
        of(x, gate.cols(), tokens, false).add(gate, gateOut, gate.rows()).add(up, upOut, up.rows());
        swiglu = true;
        totalRows = gate.rows();
        execute(par);
    }

    /** Runs the loop and drops the references it held. */
    void execute(Parallel par) {
        par.forRange((totalRows + ROWS - 1) / ROWS, this);
        x = null;
        for (int i = 0; i < count; i++) {
            m[i] = null;
            out[i] = null;
        }
    }

    @Override
    public void run(int chunk, int from, int to) {
        int rowFrom = from * ROWS;
        int rowTo = Math.min(to * ROWS, totalRows);
        if (swiglu) {
            m[0].multiplyRows(rowFrom, rowTo, x, 0, xStride, tokens, out[0], 0, outStride[0], false);
            m[1].multiplyRows(rowFrom, rowTo, x, 0, xStride, tokens, out[1], 0, outStride[1], false);
            for (int t = 0; t < tokens; t++) {
                int o = t * outStride[0] + rowFrom;
                Kernels.swiglu(out[0], o, out[1], t * outStride[1] + rowFrom, rowTo - rowFrom);
            }
            return;
        }
        int base = 0;
        for (int i = 0; i < count && rowFrom < rowTo; i++) {
            int rows = m[i].rows();
            int a = Math.max(rowFrom, base);
            int b = Math.min(rowTo, base + rows);
            if (a < b) {
                m[i].multiplyRows(a - base, b - base, x, 0, xStride, tokens, out[i], 0, outStride[i], accumulate);
            }
            base += rows;
        }
    }
}
