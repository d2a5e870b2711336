package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.HashMap;
import java.util.Map;

/**
 * The decoder's products (its layers' and the head's row blocks) with weights held narrower than
 * the arithmetic (float16 held, float32 computed): each weight is widened into an array kept from
 * one step to the next instead of a new one. Widening into an existing array is about 7x faster
 * (a new one is fresh memory the kernel must map and zero), and the fast path widens every decoder
 * weight once per batch: at LLaVA-1.5-7B's widths fresh copies cost 40% of a 264-row batch. One
 * array per weight shape (a LLaMA-7B layer has three: 0.42 GB in float32) and per thread, since
 * threads may share a model (a Spark {@code local[n]} run); the arrays belong to the model and go
 * when it is closed.
 */
final class Widening {
    private final ThreadLocal<Map<Shape, NDArray>> arrays = ThreadLocal.withInitial(HashMap::new);

    /**
     * {@code x W^T + b} as {@link Ops#linear}, with {@code weight} widened into this thread's
     * array of its shape when its type is narrower than {@code x}'s.
     *
     * @param x input (..., in)
     * @param weight (out, in), owned by the model
     * @param bias (out) or null
     * @return (..., out)
     */
    NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        if (weight.getDataType() == x.getDataType()) {
            return Ops.linear(x, weight, bias);
        }
        NDArray widened = arrays.get().computeIfAbsent(weight.getShape(), shape -> {
            NDArray array = weight.getManager().create(shape, x.getDataType());
            NDScope.unregister(array); // owned by the model, not by the pass that first needed it
            return array;
        });
        widened.set(new NDIndex(":"), weight); // an exact conversion in place
        return Ops.linear(x, widened, bias);
    }
}
