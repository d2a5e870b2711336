package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * What a forward pass returns: its logits, the activations its {@link Capture} asked for, and the
 * prompt's layout. Owns their native memory; close it when done.
 */
public final class ForwardResult implements AutoCloseable {
    private final NDArray logits;
    private final ActivationCache cache;
    private final TokenLayout layout;

    ForwardResult(NDArray logits, ActivationCache cache, TokenLayout layout) {
        this.logits = logits;
        this.cache = cache;
        this.layout = layout;
    }

    /** @return where prefix text, image and suffix text sit */
    public TokenLayout layout() {
        return layout;
    }

    /** @return logits (B, positions, vocab); positions is 1 unless the pass asked for all */
    public NDArray logits() {
        return logits;
    }

    /** @return the activations kept */
    public ActivationCache cache() {
        return cache;
    }

    /** @return the final position's logits of the first batch row, as float32 values */
    public float[] finalLogits() {
        return logits.get(new NDIndex("0, -1, :")).toType(DataType.FLOAT32, false).toFloatArray();
    }

    @Override
    public void close() {
        cache.close();
    }
}
