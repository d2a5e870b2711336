package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * The few tensor functions the graph is made of, written once so that the vision tower, the
 * projector and the decoder share the exact same numerics as the Hugging Face reference.
 *
 * <p>Every function takes the activation first, so results belong to the activation's manager,
 * never to the manager that owns the weights.
 */
public final class Ops {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    /** Activation names {@link #activation} computes, as transformers spells them. */
    public static final List<String> ACTIVATIONS = List.of("gelu", "quick_gelu", "gelu_pytorch_tanh", "gelu_new",
            "gelu_fast", "silu", "swish");

    private Ops() {
    }

    /**
     * Runs one layer in a scope of its own, so that its intermediates (attention scores, MLP
     * activations) are freed when the layer ends rather than when the whole pass ends. Without
     * this a pass holds every layer's intermediates at once: the prefix of LLaVA-1.5-7B (582
     * positions, 32 layers) grew by more than 10 GB and was killed on a 24 GB machine. What the
     * layer returns, and what {@code alsoKept} lists once it has run, move to the enclosing scope.
     * Autograd is unaffected: PyTorch's graph holds its own references to what backward needs.
     *
     * @param layer computes the layer's output
     * @param alsoKept arrays the layer made that must outlive it (kept activations, keys and values)
     * @return the layer's output
     */
    public static NDArray scopedLayer(Supplier<NDArray> layer, Supplier<? extends Collection<NDArray>> alsoKept) {
        List<NDArray> kept = new ArrayList<>();
        try (NDScope scope = new NDScope()) {
            kept.add(layer.get());
            kept.addAll(alsoKept.get());
            kept.forEach(NDScope::unregister);
        }
        kept.forEach(NDScope::register);
        return kept.get(0);
    }

    /**
     * {@code x W^T + b}, the layout of {@code torch.nn.Linear}.
     *
     * @param x input (..., in)
     * @param weight (out, in)
     * @param bias (out) or null
     * @return (..., out)
     */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        NDArray w = like(weight, x);
        NDArray b = bias == null ? null : like(bias, x);
        try {
            return b == null ? Linear.linear(x, w).singletonOrThrow() : Linear.linear(x, w, b).singletonOrThrow();
        } finally {
            release(w, weight);
            release(b, bias);
        }
    }

    /**
     * A weight in the floating type of an activation: the weight itself when the types agree,
     * otherwise a converted copy that the caller must {@link #release} as soon as it is used.
     * A model whose weights are stored in float16 but computed in float32 widens each weight
     * here, one at a time, so that at most one widened copy exists at once; widening float16 to
     * float32 is exact, so the result equals that of a model loaded in float32.
     *
     * @param weight a parameter of the model
     * @param activation the array it is combined with
     * @return the weight in the activation's type
     */
    public static NDArray like(NDArray weight, NDArray activation) {
        if (weight.getDataType() == activation.getDataType()) {
            return weight;
        }
        return weight.toType(activation.getDataType(), false);
    }

    /**
     * Frees what {@link #like} returned, unless it is the weight itself.
     *
     * @param used the array {@link #like} returned (or null)
     * @param weight the weight it was made from
     */
    public static void release(NDArray used, NDArray weight) {
        if (used != null && used != weight) {
            used.close();
        }
    }

    /**
     * LayerNorm over the last axis.
     *
     * @param x input
     * @param weight scale
     * @param bias shift
     * @param eps epsilon
     * @return normalised x
     */
    public static NDArray layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        NDArray w = like(weight, x);
        NDArray b = like(bias, x);
        try {
            return LayerNorm.layerNorm(x, new Shape(x.getShape().getShape()[x.getShape().dimension() - 1]), w, b, (float) eps)
                    .singletonOrThrow();
        } finally {
            release(w, weight);
            release(b, bias);
        }
    }

    /**
     * LLaMA's RMSNorm, {@code weight * x / sqrt(mean(x^2) + eps)}, computed in float32 as
     * transformers does, then cast back to the input's type.
     *
     * @param x input
     * @param weight scale
     * @param eps epsilon
     * @return normalised x
     */
    public static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        NDArray x32 = x.toType(ai.djl.ndarray.types.DataType.FLOAT32, false);
        NDArray variance = x32.square().mean(new int[] {-1}, true);
        NDArray normed = x32.div(variance.add(eps).sqrt());
        NDArray w = like(weight, x);
        try {
            return normed.toType(x.getDataType(), false).mul(w);
        } finally {
            release(w, weight);
        }
    }

    /**
     * Applies an activation by its transformers name.
     *
     * @param name one of {@link #ACTIVATIONS}
     * @param x input
     * @return activated x
     */
    public static NDArray activation(String name, NDArray x) {
        switch (name) {
            case "gelu":
                return Activation.gelu(x);
            case "quick_gelu":
                return x.mul(Activation.sigmoid(x.mul(1.702)));
            case "gelu_pytorch_tanh":
            case "gelu_new":
            case "gelu_fast":
                NDArray inner = x.add(x.pow(3).mul(0.044715)).mul(SQRT_2_OVER_PI);
                return x.mul(inner.tanh().add(1)).mul(0.5);
            case "silu":
            case "swish":
                return x.mul(Activation.sigmoid(x));
            default:
                throw new org.headlens.HeadlensException("activation '" + name
                        + "' is not supported (supported: " + String.join(", ", ACTIVATIONS) + ")");
        }
    }

    /**
     * Unmasked scaled dot-product attention (the vision tower's; the decoder's, with its
     * interventions, is in {@code forward.DecoderRun}).
     *
     * @param query (B, H, Tq, d)
     * @param key (B, H, Tk, d)
     * @param value (B, H, Tk, d)
     * @return attention output (B, H, Tq, d)
     */
    public static NDArray attention(NDArray query, NDArray key, NDArray value) {
        long headDim = query.getShape().get(query.getShape().dimension() - 1);
        NDArray scores = query.matMul(key.swapAxes(-1, -2)).div(Math.sqrt(headDim));
        NDArray weights = scores.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).softmax(-1).toType(query.getDataType(), false);
        return weights.matMul(value);
    }
}
