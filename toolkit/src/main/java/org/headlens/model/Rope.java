package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding in the rotate-half (GPT-NeoX) layout that LLaMA and Qwen2 use:
 * the first and second halves of each head are the two coordinates of each rotated pair.
 *
 * @param cos (T, headDim) cosines for the positions it was made for
 * @param sin (T, headDim) sines
 */
public record Rope(NDArray cos, NDArray sin) {

    /**
     * Tables for the given positions, computed in float32 like transformers.
     *
     * @param manager owner of the tables
     * @param config decoder config (head width, theta, linear scaling)
     * @param positions position ids
     * @param type compute type of the activations
     * @return the tables
     */
    public static Rope of(NDManager manager, ModelConfig.TextConfig config, long[] positions, DataType type) {
        return of(manager, config, new long[][] {positions}, type);
    }

    /**
     * Tables for positions given per axis: one row is ordinary RoPE; three rows (temporal,
     * height, width) are Qwen2-VL's M-RoPE, where the first {@code mrope_section[0]} frequencies
     * turn with the temporal position, the next {@code mrope_section[1]} with the height and the
     * rest with the width, identically in both halves of the head.
     *
     * @param manager owner of the tables
     * @param config decoder config (head width, theta, linear scaling, mrope section)
     * @param rows position ids, one row per axis, all of the same length
     * @param type compute type of the activations
     * @return the tables
     */
    public static Rope of(NDManager manager, ModelConfig.TextConfig config, long[][] rows, DataType type) {
        int[] section = config.mropeSection().stream().mapToInt(Integer::intValue).toArray();
        if (rows.length != 1 && rows.length != section.length) {
            throw new IllegalArgumentException(rows.length + " position rows for a decoder with mrope_section of " + section.length);
        }
        int[] axisOf = new int[config.headDim() / 2];
        if (rows.length > 1) {
            int i = 0;
            for (int axis = 0; axis < section.length; axis++) {
                for (int k = 0; k < section[axis]; k++) {
                    axisOf[i++] = axis;
                }
            }
        }
        long[] positions = rows[0];
        int dim = config.headDim();
        int half = dim / 2;
        float[] inverseFrequency = new float[half];
        for (int i = 0; i < half; i++) {
            // float32 like torch: 1 / theta ** (arange(0, dim, 2).float() / dim)
            inverseFrequency[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (float) (2 * i) / (float) dim));
        }
        float[] cos = new float[positions.length * dim];
        float[] sin = new float[positions.length * dim];
        for (int t = 0; t < positions.length; t++) {
            for (int i = 0; i < half; i++) {
                float position = (float) (rows[axisOf[i]][t] / config.ropeLinearFactor());
                float angle = position * inverseFrequency[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[t * dim + i] = c;
                cos[t * dim + i + half] = c;
                sin[t * dim + i] = s;
                sin[t * dim + i + half] = s;
            }
        }
        Shape shape = new Shape(positions.length, dim);
        return new Rope(manager.create(cos, shape).toType(type, false), manager.create(sin, shape).toType(type, false));
    }

    /**
     * Rotates queries or keys.
     *
     * @param x (B, heads, T, headDim)
     * @return rotated x
     */
    public NDArray apply(NDArray x) {
        long half = x.getShape().get(3) / 2;
        NDArray first = x.get(":, :, :, :{}", half);
        NDArray second = x.get(":, :, :, {}:", half);
        NDArray rotated = NDArrays.concat(new NDList(second.neg(), first), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
