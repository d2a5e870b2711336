package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import java.util.ArrayList;
import java.util.List;

/**
 * The image encoder: a CLIP or SigLIP vision transformer. Returns the hidden-state list that
 * transformers returns with {@code output_hidden_states}: the embeddings (after CLIP's
 * {@code pre_layrnorm}) then each encoder layer's output. {@code post_layernorm} is not applied:
 * LLaVA takes features from the hidden-state list.
 */
public final class VisionTower {
    private static final String PREFIX = "vision_tower.vision_model.";

    private final ModelConfig.VisionConfig config;
    private final NDArray patchWeight;
    private final NDArray patchBias;
    private final NDArray classEmbedding;
    private final NDArray positionEmbedding;
    private final NDArray preNormWeight;
    private final NDArray preNormBias;
    private final List<Layer> layers = new ArrayList<>();

    private record Layer(NDArray norm1Weight, NDArray norm1Bias, NDArray queryWeight, NDArray queryBias,
            NDArray keyWeight, NDArray keyBias, NDArray valueWeight, NDArray valueBias, NDArray outWeight,
            NDArray outBias, NDArray norm2Weight, NDArray norm2Bias, NDArray fc1Weight, NDArray fc1Bias,
            NDArray fc2Weight, NDArray fc2Bias) {
    }

    VisionTower(ModelConfig.VisionConfig config, Weights weights) {
        this.config = config;
        long d = config.hiddenSize();
        long inner = config.intermediateSize();
        String e = PREFIX + "embeddings.";
        patchWeight = weights.get(e + "patch_embedding.weight", d, config.channels(), config.patchSize(), config.patchSize());
        positionEmbedding = weights.get(e + "position_embedding.weight", config.tokens(), d);
        if (config.isClip()) {
            patchBias = null;
            classEmbedding = weights.get(e + "class_embedding", d);
            preNormWeight = weights.get(PREFIX + "pre_layrnorm.weight", d);
            preNormBias = weights.get(PREFIX + "pre_layrnorm.bias", d);
        } else {
            patchBias = weights.get(e + "patch_embedding.bias", d);
            classEmbedding = null;
            preNormWeight = null;
            preNormBias = null;
        }
        for (int i = 0; i < config.layers(); i++) {
            String p = PREFIX + "encoder.layers." + i + ".";
            layers.add(new Layer(
                    weights.get(p + "layer_norm1.weight", d), weights.get(p + "layer_norm1.bias", d),
                    weights.get(p + "self_attn.q_proj.weight", d, d), weights.get(p + "self_attn.q_proj.bias", d),
                    weights.get(p + "self_attn.k_proj.weight", d, d), weights.get(p + "self_attn.k_proj.bias", d),
                    weights.get(p + "self_attn.v_proj.weight", d, d), weights.get(p + "self_attn.v_proj.bias", d),
                    weights.get(p + "self_attn.out_proj.weight", d, d), weights.get(p + "self_attn.out_proj.bias", d),
                    weights.get(p + "layer_norm2.weight", d), weights.get(p + "layer_norm2.bias", d),
                    weights.get(p + "mlp.fc1.weight", inner, d), weights.get(p + "mlp.fc1.bias", inner),
                    weights.get(p + "mlp.fc2.weight", d, inner), weights.get(p + "mlp.fc2.bias", d)));
        }
    }

    /** @return the tower's configuration */
    public ModelConfig.VisionConfig config() {
        return config;
    }

    /**
     * Runs the tower up to the deepest hidden state that is needed.
     *
     * @param pixels (B, C, H, W) preprocessed pixel values in the compute type
     * @param lastState index of the last hidden state to compute (0 = embeddings)
     * @return hidden states 0..lastState, each (B, tokens, hidden)
     */
    public List<NDArray> hiddenStates(NDArray pixels, int lastState) {
        long batch = pixels.getShape().get(0);
        long d = config.hiddenSize();
        Shape stride = new Shape(config.patchSize(), config.patchSize());
        NDArray patches = Conv2d.conv2d(pixels, patchWeight, patchBias, stride).singletonOrThrow();
        NDArray tokens = patches.reshape(batch, d, -1).swapAxes(1, 2);
        if (config.isClip()) {
            NDArray cls = tokens.getManager().zeros(new Shape(batch, 1, d), tokens.getDataType()).add(classEmbedding);
            tokens = NDArrays.concat(new NDList(cls, tokens), 1);
        }
        NDArray hidden = tokens.add(positionEmbedding);
        if (config.isClip()) {
            hidden = Ops.layerNorm(hidden, preNormWeight, preNormBias, config.layerNormEps());
        }
        List<NDArray> states = new ArrayList<>();
        states.add(hidden);
        for (int i = 0; i < lastState; i++) {
            hidden = layer(layers.get(i), hidden);
            states.add(hidden);
        }
        return states;
    }

    private NDArray layer(Layer layer, NDArray hidden) {
        double eps = config.layerNormEps();
        NDArray normed = Ops.layerNorm(hidden, layer.norm1Weight(), layer.norm1Bias(), eps);
        NDArray query = splitHeads(Ops.linear(normed, layer.queryWeight(), layer.queryBias()));
        NDArray key = splitHeads(Ops.linear(normed, layer.keyWeight(), layer.keyBias()));
        NDArray value = splitHeads(Ops.linear(normed, layer.valueWeight(), layer.valueBias()));
        NDArray attended = Ops.attention(query, key, value);
        NDArray merged = attended.swapAxes(1, 2).reshape(hidden.getShape());
        hidden = hidden.add(Ops.linear(merged, layer.outWeight(), layer.outBias()));
        normed = Ops.layerNorm(hidden, layer.norm2Weight(), layer.norm2Bias(), eps);
        NDArray inner = Ops.activation(config.activation(), Ops.linear(normed, layer.fc1Weight(), layer.fc1Bias()));
        return hidden.add(Ops.linear(inner, layer.fc2Weight(), layer.fc2Bias()));
    }

    private NDArray splitHeads(NDArray x) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), config.heads(), config.hiddenSize() / config.heads()).swapAxes(1, 2);
    }
}
