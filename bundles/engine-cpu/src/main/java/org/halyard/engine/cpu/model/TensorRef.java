package org.halyard.engine.cpu.model;

import java.util.Arrays;
import org.halyard.engine.cpu.tensor.FloatTensor;

/**
 * A tensor of a model file and its shape, outermost dimension first (PyTorch order; GGUF's
 * dimensions are reversed into this order): a weight matrix {@code W[rows][cols]} has shape
 * {@code {rows, cols}}.
 *
 * @param source the file it came from, for messages
 */
public record TensorRef(FloatTensor tensor, long[] shape, String source) {

    public TensorRef {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Whether two tensors have the same shape. */
    public boolean sameShape(TensorRef other) {
        return Arrays.equals(shape, other.shape);
    }

    @Override
    public String toString() {
        return tensor.type() + " " + Arrays.toString(shape) + " from " + source;
    }
}
