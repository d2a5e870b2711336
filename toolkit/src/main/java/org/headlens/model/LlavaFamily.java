package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.headlens.HeadlensException;

/**
 * LLaVA-1.5 ({@code LlavaForConditionalGeneration}): one square image through a CLIP or
 * SigLIP tower, feature selection (layer, CLS dropped or kept), a two-layer projector; a fixed
 * number of image tokens; ordinary one-row position ids; {@code ASSISTANT:} as role marker.
 */
final class LlavaFamily implements Family {
    private final ModelConfig config;
    private final ImageProcessor processor;
    private final VisionTower tower;
    private final Projector projector;

    LlavaFamily(ModelConfig config, ImageProcessor processor, VisionTower tower, Projector projector) {
        this.config = config;
        this.processor = processor;
        this.tower = tower;
        this.projector = projector;
    }

    @Override
    public String name() {
        return "llava";
    }

    @Override
    public ImageInput preprocess(NDManager manager, BufferedImage image) {
        return new ImageInput(processor.pixelValues(manager, image), null);
    }

    @Override
    public ImageInput input(NDArray pixels, long[] grid) {
        int side = config.vision().imageSize();
        if (pixels.getShape().dimension() != 4 || pixels.getShape().get(1) != config.vision().channels()
                || pixels.getShape().get(2) != side || pixels.getShape().get(3) != side) {
            throw new HeadlensException("pixel values have shape " + pixels.getShape() + ", expected (batch, "
                    + config.vision().channels() + ", " + side + ", " + side + ")");
        }
        return new ImageInput(pixels, null);
    }

    @Override
    public VisionOutput encode(ImageInput image, boolean allStates) {
        NDArray pixels = input(image.pixels(), null).pixels();
        int states = config.vision().layers() + 1;
        int[] featureLayers = config.visionFeatureLayers();
        int deepest = 0;
        int[] resolved = new int[featureLayers.length];
        for (int i = 0; i < featureLayers.length; i++) {
            resolved[i] = featureLayers[i] < 0 ? states + featureLayers[i] : featureLayers[i];
            deepest = Math.max(deepest, resolved[i]);
        }
        List<NDArray> hidden = tower.hiddenStates(pixels, allStates ? states - 1 : deepest);
        List<NDArray> chosen = new ArrayList<>();
        for (int index : resolved) {
            chosen.add(hidden.get(index));
        }
        NDArray features = chosen.size() == 1 ? chosen.get(0) : NDArrays.concat(new NDList(chosen), -1);
        if (config.strategyDropsFirst()) {
            features = features.get(new NDIndex(":, 1:, :"));
        }
        NDArray projected = projector.project(features);
        return new VisionOutput(hidden, features, projected, projected);
    }

    @Override
    public int imageTokens(long[] grid) {
        return config.imageTokens();
    }

    @Override
    public long[] visionSequences(long[] grid) {
        return new long[] {1, config.vision().tokens()};
    }

    @Override
    public long images(NDArray pixels) {
        return pixels.getShape().get(0);
    }

    @Override
    public long[][] positionIds(int length, int imageStart, int imageLength, long[] grid) {
        return new long[][] {LongStream.range(0, length).toArray()};
    }

    @Override
    public boolean[] objectTokens(boolean[][] mask, long[] grid, double threshold) {
        int side = config.vision().patchesPerSide();
        boolean[] cells = PatchMasks.grid(processor.mask(mask), side, side, threshold);
        // a CLS token kept by the 'full' strategy comes first and shows no patch
        boolean[] tokens = new boolean[imageTokens(grid)];
        System.arraycopy(cells, 0, tokens, tokens.length - cells.length, cells.length);
        return tokens;
    }

    @Override
    public List<TokenGrid> tokenGrids(long[] grid) {
        int side = config.vision().patchesPerSide();
        return List.of(TokenGrid.of("patches", side, side, imageTokens(grid) - side * side, side));
    }

    @Override
    public String assistantRole() {
        return "ASSISTANT:";
    }
}
