package org.headlens.model;

import ai.djl.ndarray.NDArray;

/** LLaVA's multi-modal projector: linear, activation, linear, from vision width to decoder width. */
public final class Projector {
    private static final String PREFIX = "multi_modal_projector.";

    private final String activation;
    private final NDArray weight1;
    private final NDArray bias1;
    private final NDArray weight2;
    private final NDArray bias2;

    Projector(ModelConfig config, Weights weights) {
        long in = (long) config.vision().hiddenSize() * config.visionFeatureLayers().length;
        long out = config.text().hiddenSize();
        activation = config.projectorActivation();
        weight1 = weights.get(PREFIX + "linear_1.weight", out, in);
        // a checkpoint saved with multimodal_projector_bias false has no bias tensors at all
        bias1 = config.projectorBias() ? weights.get(PREFIX + "linear_1.bias", out) : null;
        weight2 = weights.get(PREFIX + "linear_2.weight", out, out);
        bias2 = config.projectorBias() ? weights.get(PREFIX + "linear_2.bias", out) : null;
    }

    /**
     * @param features selected vision features (B, tokens, vision hidden)
     * @return image embeddings in the decoder's space (B, tokens, text hidden)
     */
    public NDArray project(NDArray features) {
        return Ops.linear(Ops.activation(activation, Ops.linear(features, weight1, bias1)), weight2, bias2);
    }
}
