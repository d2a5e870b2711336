package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.awt.image.BufferedImage;
import org.headlens.Fixtures;
import org.headlens.model.ImageInput;
import org.headlens.model.Lvlm;
import org.junit.jupiter.api.Test;

/**
 * The memory check before a pass counts each family's vision work as the family runs it. It once
 * took LLaVA-NeXT's image size in pixels for its token count (a 672x672 image "needed" terabytes)
 * and Qwen2-VL's patch rows for a batch of images (576 images), and refused both 7B models.
 */
class PassSizeTest {
    @Test
    void eachFamilyCountsItsVisionSequencesAndImages() {
        try (Lvlm model = Lvlm.load(Fixtures.model("llava-clip-llama")); NDManager manager = model.newScope()) {
            assertArrayEquals(new long[] {1, model.config().vision().tokens()}, model.family().visionSequences(null));
            assertEquals(2, model.family().images(manager.zeros(new ai.djl.ndarray.types.Shape(2, 3, 30, 30))));
        }
        try (Lvlm model = Lvlm.load(Fixtures.model("llava-next-clip-llama")); NDManager manager = model.newScope()) {
            // pinpoints up to 64x64 in 32-pixel tiles: a large square image takes 2x2 tiles and the base image
            assertArrayEquals(new long[] {5, 17}, model.family().visionSequences(new long[] {672, 672}));
            ImageInput image = model.preprocess(manager, new BufferedImage(672, 672, BufferedImage.TYPE_INT_RGB));
            assertEquals(1, model.family().images(image.pixels()));
            Prompt prompt = Prompt.ofIds(model, new long[] {1, 5, model.config().imageTokenIndex(), 6, 7}, image);
            try (ForwardResult result = ForwardPass.run(model, Pass.full(prompt.layout()), image.pixels(), LayerEdits.none())) {
                assertTrue(Float.isFinite(result.finalLogits()[0]));
            }
        }
        try (Lvlm model = Lvlm.load(Fixtures.model("qwen2-vl")); NDManager manager = model.newScope()) {
            ImageInput image = model.preprocess(manager, new BufferedImage(112, 56, BufferedImage.TYPE_INT_RGB));
            long[] grid = image.grid();
            assertArrayEquals(new long[] {1, grid[1] * grid[2]}, model.family().visionSequences(grid));
            assertEquals(grid[1] * grid[2], image.pixels().getShape().get(0), "one row per patch");
            assertEquals(1, model.family().images(image.pixels()), "those rows are one image, not a batch");
        }
    }
}
