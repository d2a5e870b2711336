package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.headlens.HeadlensException;

/**
 * Qwen2-VL ({@code Qwen2VLForConditionalGeneration}, transformers 4.45): patch rows embedded by
 * a linear map (the Conv3d), a pre-LayerNorm vision transformer with 2-D rotary embeddings over
 * (row, column), a merger that concatenates each 2x2 window and maps it to the decoder's width;
 * a number of image tokens that follows the image's size; three-row M-RoPE position ids as
 * {@code get_rope_index} computes them for {@code generate}; {@code <|im_start|>assistant} as role.
 */
final class Qwen2VlFamily implements Family {
    private static final String PREFIX = "visual.";

    private final ModelConfig.VisionConfig config;
    private final Qwen2VlImageProcessor processor;
    private final NDArray patchWeight;
    private final List<NDArray[]> blocks = new ArrayList<>();
    private final NDArray mergerNormWeight;
    private final NDArray mergerNormBias;
    private final NDArray merger1Weight;
    private final NDArray merger1Bias;
    private final NDArray merger2Weight;
    private final NDArray merger2Bias;

    Qwen2VlFamily(ModelConfig model, Qwen2VlImageProcessor processor, Weights weights) {
        this.config = model.vision();
        this.processor = processor;
        long d = config.hiddenSize();
        long inner = config.intermediateSize();
        long rowLength = rowLength();
        patchWeight = weights.get(PREFIX + "patch_embed.proj.weight", d, config.channels(), config.temporalPatchSize(),
                config.patchSize(), config.patchSize()).reshape(d, rowLength);
        for (int i = 0; i < config.layers(); i++) {
            String p = PREFIX + "blocks." + i + ".";
            blocks.add(new NDArray[] {
                weights.get(p + "norm1.weight", d), weights.get(p + "norm1.bias", d),
                weights.get(p + "attn.qkv.weight", 3 * d, d), weights.get(p + "attn.qkv.bias", 3 * d),
                weights.get(p + "attn.proj.weight", d, d), weights.get(p + "attn.proj.bias", d),
                weights.get(p + "norm2.weight", d), weights.get(p + "norm2.bias", d),
                weights.get(p + "mlp.fc1.weight", inner, d), weights.get(p + "mlp.fc1.bias", inner),
                weights.get(p + "mlp.fc2.weight", d, inner), weights.get(p + "mlp.fc2.bias", d)});
        }
        long merged = d * config.spatialMergeSize() * config.spatialMergeSize();
        mergerNormWeight = weights.get(PREFIX + "merger.ln_q.weight", d);
        mergerNormBias = weights.get(PREFIX + "merger.ln_q.bias", d);
        merger1Weight = weights.get(PREFIX + "merger.mlp.0.weight", merged, merged);
        merger1Bias = weights.get(PREFIX + "merger.mlp.0.bias", merged);
        merger2Weight = weights.get(PREFIX + "merger.mlp.2.weight", config.outputSize(), merged);
        merger2Bias = weights.get(PREFIX + "merger.mlp.2.bias", config.outputSize());
    }

    private long rowLength() {
        return (long) config.channels() * config.temporalPatchSize() * config.patchSize() * config.patchSize();
    }

    @Override
    public String name() {
        return "qwen2_vl";
    }

    @Override
    public ImageInput preprocess(NDManager manager, BufferedImage image) {
        return processor.preprocess(manager, image);
    }

    @Override
    public ImageInput input(NDArray pixels, long[] grid) {
        int merge = config.spatialMergeSize();
        if (grid == null || grid.length != 3 || grid[0] != 1 || grid[1] <= 0 || grid[2] <= 0 || grid[1] % merge != 0
                || grid[2] % merge != 0 || grid[1] * grid[2] > ModelConfig.MAX_IMAGE_TOKENS) {
            throw new HeadlensException("a Qwen2-VL image needs its grid (image_grid_thw) as (1, h, w) patches with h and w multiples of "
                    + merge + "; got " + Arrays.toString(grid));
        }
        long patches = grid[1] * grid[2];
        Shape shape = pixels.getShape();
        if (shape.dimension() != 2 || shape.get(0) != patches || shape.get(1) != rowLength()) {
            throw new HeadlensException("pixel values have shape " + shape + ", expected (" + patches + ", " + rowLength()
                    + ") for the grid " + Arrays.toString(grid));
        }
        return new ImageInput(pixels, grid.clone());
    }

    @Override
    public VisionOutput encode(ImageInput image, boolean allStates) {
        ImageInput checked = input(image.pixels(), image.grid());
        NDArray pixels = checked.pixels();
        long[] grid = checked.grid();
        NDManager manager = pixels.getManager();
        NDArray hidden = Ops.linear(pixels, patchWeight, null).expandDims(0);
        Rope rope = rotary(manager, grid, pixels.getDataType());
        List<NDArray> states = new ArrayList<>();
        states.add(hidden);
        for (NDArray[] block : blocks) {
            NDArray input = hidden;
            hidden = Ops.scopedLayer(() -> block(block, input, rope), List::of);
            states.add(hidden);
        }
        long d = config.hiddenSize();
        int window = config.spatialMergeSize() * config.spatialMergeSize();
        NDArray normed = Ops.layerNorm(hidden, mergerNormWeight, mergerNormBias, 1e-6);
        NDArray windows = normed.reshape(1, -1, d * window);
        NDArray embeddings = Ops.linear(Ops.activation("gelu", Ops.linear(windows, merger1Weight, merger1Bias)), merger2Weight, merger2Bias);
        return new VisionOutput(states, null, embeddings, embeddings);
    }

    /**
     * 2-D rotary tables: per patch row (in the pixel rows' order) the angles
     * {@code cat(row * inv_freq, col * inv_freq)}, repeated over both halves of the head.
     */
    private Rope rotary(NDManager manager, long[] grid, DataType type) {
        int headDim = config.hiddenSize() / config.heads();
        int quarter = headDim / 4;
        float[] inverse = new float[quarter];
        for (int i = 0; i < quarter; i++) {
            inverse[i] = (float) (1.0 / Math.pow(10000.0, (float) (2 * i) / (float) (headDim / 2)));
        }
        int merge = config.spatialMergeSize();
        int patches = (int) (grid[1] * grid[2]);
        float[] cos = new float[patches * headDim];
        float[] sin = new float[patches * headDim];
        int index = 0;
        for (int bh = 0; bh < grid[1] / merge; bh++) {
            for (int bw = 0; bw < grid[2] / merge; bw++) {
                for (int ih = 0; ih < merge; ih++) {
                    for (int iw = 0; iw < merge; iw++) {
                        float row = bh * merge + ih;
                        float col = bw * merge + iw;
                        for (int i = 0; i < quarter; i++) {
                            float[] angles = {row * inverse[i], col * inverse[i]};
                            for (int axis = 0; axis < 2; axis++) {
                                int at = axis * quarter + i;
                                for (int half = 0; half < 2; half++) {
                                    cos[index * headDim + half * (headDim / 2) + at] = (float) Math.cos(angles[axis]);
                                    sin[index * headDim + half * (headDim / 2) + at] = (float) Math.sin(angles[axis]);
                                }
                            }
                        }
                        index++;
                    }
                }
            }
        }
        Shape shape = new Shape(patches, headDim);
        return new Rope(manager.create(cos, shape).toType(type, false), manager.create(sin, shape).toType(type, false));
    }

    private NDArray block(NDArray[] w, NDArray hidden, Rope rope) {
        long d = config.hiddenSize();
        int heads = config.heads();
        long patches = hidden.getShape().get(1);
        NDArray normed = Ops.layerNorm(hidden, w[0], w[1], 1e-6);
        // one Linear makes q | k | v; each splits into heads
        NDArray qkv = Ops.linear(normed, w[2], w[3]).reshape(patches, 3, heads, d / heads).transpose(1, 2, 0, 3);
        NDArray query = rope.apply(qkv.get(0).expandDims(0));
        NDArray key = rope.apply(qkv.get(1).expandDims(0));
        NDArray value = qkv.get(2).expandDims(0);
        NDArray attended = Ops.attention(query, key, value).swapAxes(1, 2).reshape(1, patches, d);
        hidden = hidden.add(Ops.linear(attended, w[4], w[5]));
        normed = Ops.layerNorm(hidden, w[6], w[7], 1e-6);
        NDArray inner = Ops.activation(config.activation(), Ops.linear(normed, w[8], w[9]));
        return hidden.add(Ops.linear(inner, w[10], w[11]));
    }

    @Override
    public int imageTokens(long[] grid) {
        if (grid == null) {
            throw new HeadlensException("a Qwen2-VL prompt's image token count follows the image's size; pass the image (its grid) "
                    + "when building the prompt's layout");
        }
        int merge = config.spatialMergeSize();
        return (int) (grid[0] * grid[1] * grid[2] / ((long) merge * merge));
    }

    @Override
    public long[] visionSequences(long[] grid) {
        return new long[] {grid[0], grid[1] * grid[2]};
    }

    @Override
    public long images(NDArray pixels) {
        return 1; // (patches, row length): one image's patches
    }

    @Override
    public long[][] positionIds(int length, int imageStart, int imageLength, long[] grid) {
        long[][] rows = new long[3][length];
        if (imageLength == 0) {
            for (int r = 0; r < 3; r++) {
                for (int p = 0; p < length; p++) {
                    rows[r][p] = p;
                }
            }
            return rows;
        }
        int merge = config.spatialMergeSize();
        long width = grid[2] / merge;
        long height = grid[1] / merge;
        for (int p = 0; p < imageStart; p++) {
            rows[0][p] = p;
            rows[1][p] = p;
            rows[2][p] = p;
        }
        long start = imageStart;
        long largest = start - 1;
        for (int k = 0; k < imageLength; k++) {
            long t = k / (height * width);
            long within = k % (height * width);
            rows[0][imageStart + k] = start + t;
            rows[1][imageStart + k] = start + within / width;
            rows[2][imageStart + k] = start + within % width;
            for (int r = 0; r < 3; r++) {
                largest = Math.max(largest, rows[r][imageStart + k]);
            }
        }
        for (int p = imageStart + imageLength; p < length; p++) {
            long value = largest + 1 + (p - imageStart - imageLength);
            rows[0][p] = value;
            rows[1][p] = value;
            rows[2][p] = value;
        }
        return rows;
    }

    @Override
    public boolean[] objectTokens(boolean[][] mask, long[] grid, double threshold) {
        int merge = config.spatialMergeSize();
        imageTokens(grid);
        // the resize scales the whole image (no crop, no padding), so each merged token covers
        // an equal share of the original image, windows row-major
        return PatchMasks.grid(mask, (int) (grid[1] / merge), (int) (grid[2] / merge), threshold);
    }

    @Override
    public List<TokenGrid> tokenGrids(long[] grid) {
        imageTokens(grid);
        int merge = config.spatialMergeSize();
        int rows = (int) (grid[1] / merge);
        int columns = (int) (grid[2] / merge);
        return List.of(TokenGrid.of("merged", rows, columns, 0, columns));
    }

    @Override
    public String assistantRole() {
        return "<|im_start|>assistant\n";
    }
}
