package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.Collections;
import java.util.Map;
import org.headlens.HeadlensException;

/**
 * The tensors of one forward pass, named as in the Hugging Face reference fixtures:
 * {@code logits}, {@code hidden_states.i}, {@code decoder_layer_output.l}, {@code attentions.l},
 * {@code decoder_q_post_rope.l}, {@code decoder_k_post_rope.l}, {@code decoder_v.l},
 * {@code vision_hidden_states.i}, {@code vision_selected_features}, {@code projector_output},
 * {@code inputs_embeds_merged}; each with a leading batch axis of 1. Owns their native memory.
 */
public final class ForwardResult implements AutoCloseable {
    private final NDManager manager;
    private final Map<String, NDArray> tensors;
    private final TokenLayout layout;

    ForwardResult(NDManager manager, Map<String, NDArray> tensors, TokenLayout layout) {
        this.manager = manager;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.layout = layout;
    }

    /** @return where prefix text, image and suffix text sit */
    public TokenLayout layout() {
        return layout;
    }

    /** @return every tensor by name */
    public Map<String, NDArray> tensors() {
        return tensors;
    }

    /**
     * @param name a tensor name (see the class comment)
     * @return the tensor
     */
    public NDArray tensor(String name) {
        NDArray tensor = tensors.get(name);
        if (tensor == null) {
            throw new HeadlensException("the forward pass did not keep '" + name + "'; ask for it in ForwardOptions");
        }
        return tensor;
    }

    /** @return logits (1, positions, vocab); positions is 1 unless all positions were asked for */
    public NDArray logits() {
        return tensor("logits");
    }

    /** @return the final position's logits as float32 values */
    public float[] finalLogits() {
        NDArray logits = logits();
        return logits.get(new NDIndex(":, -1, :")).toType(DataType.FLOAT32, false).toFloatArray();
    }

    @Override
    public void close() {
        manager.close();
    }
}
