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
 * {@code pre_layrnorm}) then each encoder layer's output. {@code post_layernorm} (and SigLIP's
 * pooling head) is not applied: LLaVA takes features from the hidden-state list, which transformers
 * fills before either. Both are still parameters of transformers' vision model, so they are
 * checked when present and written back by {@link Lvlm#save} (see {@link #unusedParameters}).
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

    /**
     * A parameter of transformers' vision model that no LLaVA output depends on, and the constant
     * it is written with when a model lacks it (1 for a norm's scale, else 0: an identity norm and
     * a pooling head that outputs zeros).
     *
     * @param name canonical tensor name
     * @param shape its shape
     * @param value the constant every element gets when it is created
     */
    public record UnusedParameter(String name, long[] shape, float value) {
    }

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
        for (UnusedParameter unused : unusedParameters(config)) {
            if (weights.has(unused.name())) {
                // never used here, but written back on save: a wrong shape would break the
                // folder for transformers, so it is refused like any other tensor
                weights.get(unused.name(), unused.shape());
            }
        }
    }

    /**
     * The parameters transformers' {@code CLIPVisionModel} / {@code SiglipVisionModel} hold in a
     * LLaVA checkpoint beyond those this graph reads: {@code post_layernorm} (CLIP normalises only
     * the pooled CLS token with it, SigLIP the last hidden state, and LLaVA reads neither) and
     * SigLIP's attention-pooling {@code head} (transformers 4.44 always builds it; newer versions
     * skip it when {@code vision_use_head} is false, and then only note the written head as unused).
     * Without them transformers initialises them at random on every load and warns.
     *
     * @param config the tower's configuration
     * @return names (in the transformers 4.44 layout), shapes and creation values
     */
    public static List<UnusedParameter> unusedParameters(ModelConfig.VisionConfig config) {
        long d = config.hiddenSize();
        long inner = config.intermediateSize();
        List<UnusedParameter> unused = new ArrayList<>();
        unused.add(new UnusedParameter(PREFIX + "post_layernorm.weight", new long[] {d}, 1f));
        unused.add(new UnusedParameter(PREFIX + "post_layernorm.bias", new long[] {d}, 0f));
        if (!config.isClip()) {
            String h = PREFIX + "head.";
            unused.add(new UnusedParameter(h + "probe", new long[] {1, 1, d}, 0f));
            unused.add(new UnusedParameter(h + "attention.in_proj_weight", new long[] {3 * d, d}, 0f));
            unused.add(new UnusedParameter(h + "attention.in_proj_bias", new long[] {3 * d}, 0f));
            unused.add(new UnusedParameter(h + "attention.out_proj.weight", new long[] {d, d}, 0f));
            unused.add(new UnusedParameter(h + "attention.out_proj.bias", new long[] {d}, 0f));
            unused.add(new UnusedParameter(h + "layernorm.weight", new long[] {d}, 1f));
            unused.add(new UnusedParameter(h + "layernorm.bias", new long[] {d}, 0f));
            unused.add(new UnusedParameter(h + "mlp.fc1.weight", new long[] {inner, d}, 0f));
            unused.add(new UnusedParameter(h + "mlp.fc1.bias", new long[] {inner}, 0f));
            unused.add(new UnusedParameter(h + "mlp.fc2.weight", new long[] {d, inner}, 0f));
            unused.add(new UnusedParameter(h + "mlp.fc2.bias", new long[] {d}, 0f));
        }
        return unused;
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
        NDArray kernel = Ops.like(patchWeight, pixels);
        NDArray kernelBias = patchBias == null ? null : Ops.like(patchBias, pixels);
        NDArray patches;
        try {
            patches = Conv2d.conv2d(pixels, kernel, kernelBias, stride).singletonOrThrow();
        } finally {
            Ops.release(kernel, patchWeight);
            Ops.release(kernelBias, patchBias);
        }
        NDArray tokens = patches.reshape(batch, d, -1).swapAxes(1, 2);
        if (config.isClip()) {
            NDArray embedding = Ops.like(classEmbedding, tokens);
            NDArray cls = tokens.getManager().zeros(new Shape(batch, 1, d), tokens.getDataType()).add(embedding);
            Ops.release(embedding, classEmbedding);
            tokens = NDArrays.concat(new NDList(cls, tokens), 1);
        }
        NDArray positions = Ops.like(positionEmbedding, tokens);
        NDArray hidden = tokens.add(positions);
        Ops.release(positions, positionEmbedding);
        if (config.isClip()) {
            hidden = Ops.layerNorm(hidden, preNormWeight, preNormBias, config.layerNormEps());
        }
        List<NDArray> states = new ArrayList<>();
        states.add(hidden);
        for (int i = 0; i < lastState; i++) {
            Layer layer = layers.get(i);
            NDArray input = hidden;
            hidden = Ops.scopedLayer(() -> layer(layer, input), List::of);
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
