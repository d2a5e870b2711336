package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * One LLaMA/Qwen2 decoder layer, exposed as its steps so that the forward pass can read or
 * change what flows between them: normalise, project to queries/keys/values and rotate, attend
 * (done by the caller, where interventions live), project the per-head outputs, then the MLP.
 */
public final class DecoderLayer {
    private final int index;
    private final ModelConfig.TextConfig config;
    private final NDArray inputNorm;
    private final NDArray postAttentionNorm;
    private final NDArray queryWeight;
    private final NDArray queryBias;
    private final NDArray keyWeight;
    private final NDArray keyBias;
    private final NDArray valueWeight;
    private final NDArray valueBias;
    private final NDArray outputWeight;
    private final NDArray gateWeight;
    private final NDArray upWeight;
    private final NDArray downWeight;
    private final Widening widening;

    /**
     * Post-RoPE queries and keys and the values of one layer.
     *
     * @param query (B, heads, T, headDim)
     * @param key (B, keyValueHeads, T, headDim)
     * @param value (B, keyValueHeads, T, headDim)
     */
    public record QueryKeyValue(NDArray query, NDArray key, NDArray value) {
    }

    DecoderLayer(int index, ModelConfig.TextConfig config, Weights weights, Widening widening) {
        this.index = index;
        this.widening = widening;
        this.config = config;
        String p = "language_model.model.layers." + index + ".";
        long d = config.hiddenSize();
        long q = (long) config.heads() * config.headDim();
        long kv = (long) config.keyValueHeads() * config.headDim();
        long inner = config.intermediateSize();
        inputNorm = weights.get(p + "input_layernorm.weight", d);
        postAttentionNorm = weights.get(p + "post_attention_layernorm.weight", d);
        queryWeight = weights.get(p + "self_attn.q_proj.weight", q, d);
        keyWeight = weights.get(p + "self_attn.k_proj.weight", kv, d);
        valueWeight = weights.get(p + "self_attn.v_proj.weight", kv, d);
        if (config.attentionBias()) {
            queryBias = weights.get(p + "self_attn.q_proj.bias", q);
            keyBias = weights.get(p + "self_attn.k_proj.bias", kv);
            valueBias = weights.get(p + "self_attn.v_proj.bias", kv);
        } else {
            queryBias = null;
            keyBias = null;
            valueBias = null;
        }
        outputWeight = weights.get(p + "self_attn.o_proj.weight", d, q);
        gateWeight = weights.get(p + "mlp.gate_proj.weight", inner, d);
        upWeight = weights.get(p + "mlp.up_proj.weight", inner, d);
        downWeight = weights.get(p + "mlp.down_proj.weight", d, inner);
    }

    /** @return the layer's index in the decoder */
    public int index() {
        return index;
    }

    /**
     * Normalises the residual stream and computes rotated queries, keys and values.
     *
     * @param hidden residual stream (B, T, hidden)
     * @param rope rotary tables for the T positions
     * @return post-RoPE queries and keys, and values, split into heads
     */
    public QueryKeyValue queryKeyValue(NDArray hidden, Rope rope) {
        NDArray normed = Ops.rmsNorm(hidden, inputNorm, config.rmsNormEps());
        NDArray query = splitHeads(widening.linear(normed, queryWeight, queryBias), config.heads());
        NDArray key = splitHeads(widening.linear(normed, keyWeight, keyBias), config.keyValueHeads());
        NDArray value = splitHeads(widening.linear(normed, valueWeight, valueBias), config.keyValueHeads());
        return new QueryKeyValue(rope.apply(query), rope.apply(key), value);
    }

    /**
     * Repeats each key/value head for the query heads that share it (grouped-query attention):
     * query head j reads key/value head j / groupSize.
     *
     * @param keyOrValue (B, keyValueHeads, T, headDim)
     * @return (B, heads, T, headDim)
     */
    public NDArray perQueryHead(NDArray keyOrValue) {
        int group = config.groupSize();
        return group == 1 ? keyOrValue : keyOrValue.repeat(1, group);
    }

    /**
     * Merges per-head attention outputs and applies {@code o_proj}.
     *
     * @param perHead (B, heads, T, headDim)
     * @return attention contribution to the residual stream (B, T, hidden)
     */
    public NDArray outputProjection(NDArray perHead) {
        Shape s = perHead.getShape();
        NDArray merged = perHead.swapAxes(1, 2).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
        return widening.linear(merged, outputWeight, null);
    }

    /**
     * The MLP block with its pre-norm: {@code down(silu(gate(x)) * up(x))} on the normalised stream.
     *
     * @param hidden residual stream after attention (B, T, hidden)
     * @return MLP contribution to the residual stream
     */
    public NDArray mlp(NDArray hidden) {
        NDArray normed = Ops.rmsNorm(hidden, postAttentionNorm, config.rmsNormEps());
        NDArray gate = Ops.activation("silu", widening.linear(normed, gateWeight, null));
        return widening.linear(gate.mul(widening.linear(normed, upWeight, null)), downWeight, null);
    }

    private NDArray splitHeads(NDArray x, int heads) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, config.headDim()).swapAxes(1, 2);
    }
}
