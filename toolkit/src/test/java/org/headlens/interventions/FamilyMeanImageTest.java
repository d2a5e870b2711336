package org.headlens.interventions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.headlens.forward.Prompt;
import org.headlens.model.ImageInput;
import org.headlens.model.Images;
import org.headlens.model.Lvlm;
import org.headlens.model.SafeTensors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The dataset mean-image baseline on every family: the element-wise mean of the images'
 * preprocessed pixel values (tiles and base image for LLaVA-NeXT, patch rows for Qwen2-VL),
 * usable by the engine; images of another size mix for LLaVA-1.5 (one square input) and are
 * refused, naming both files, for the families whose layout follows the image's size.
 */
class FamilyMeanImageTest {
    @TempDir
    static Path dir;

    private static float[] pixels(Lvlm model, NDManager manager, Path file) {
        return model.preprocess(manager, file).pixels().toType(DataType.FLOAT32, false).toFloatArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"llava-clip-llama", "llava-next-clip-llama", "qwen2-vl"})
    void theMeanImageIsThePixelMeanAndSizesMustAgreeWhereTheLayoutFollowsThem(String name) throws Exception {
        Path model = Fixtures.model(name);
        // the LLaVA-1.5 folders hold no pictures; any pictures do for them
        Path pictures = name.equals("llava-clip-llama") ? Fixtures.model("qwen2-vl") : model;
        Path first = pictures.resolve("image.png");
        Path second = pictures.resolve("image_baseline.png");
        BufferedImage original = Images.read(first);
        BufferedImage turned = new BufferedImage(original.getHeight(), original.getWidth(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < original.getHeight(); y++) {
            for (int x = 0; x < original.getWidth(); x++) {
                turned.setRGB(y, x, original.getRGB(x, y));
            }
        }
        Path other = dir.resolve(name + "-turned.png");
        ImageIO.write(turned, "png", other.toFile());
        try (Lvlm lvlm = Lvlm.load(model); NDManager manager = lvlm.newScope()) {
            float[] a = pixels(lvlm, manager, first);
            float[] b = pixels(lvlm, manager, second);
            float[] expected = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                expected[i] = (a[i] + b[i]) / 2;
            }
            Baseline mean = Baseline.meanOf(lvlm, List.of(first, second), manager);
            ImageInput image = lvlm.preprocess(manager, first);
            Baseline.Image resolved = (Baseline.Image) mean;
            assertEquals(image.pixels().getShape(), resolved.pixelValues().getShape(), name);
            assertArrayEquals(expected, resolved.pixelValues().toFloatArray(), 1e-6f, name);

            // the engine runs the sample's prompt on it: all heads ablated give the mean image's own logits
            long[] ids = SafeTensors.open(model.resolve("ablations.safetensors")).read("input_ids", manager).toLongArray();
            Prompt prompt = Prompt.ofIds(lvlm, ids, image);
            try (InterventionEngine engine = InterventionEngine.prepare(lvlm, prompt, image.pixels(), mean);
                    InterventionEngine own = InterventionEngine.prepare(lvlm, prompt, resolved.pixelValues(), Baseline.blank())) {
                float[] ablated = engine.allAblated();
                assertTrue(InterventionEngineTest.maxDiff(ablated, own.clean()) < 1e-4, name);
                assertTrue(InterventionEngineTest.maxDiff(ablated, engine.clean()) > 1e-3, name + ": the baseline is not the image");
            }

            if (name.equals("llava-clip-llama")) {
                float[] c = pixels(lvlm, manager, other);
                float[] three = ((Baseline.Image) Baseline.meanOf(lvlm, List.of(first, second, other), manager)).pixelValues().toFloatArray();
                for (int i = 0; i < a.length; i += 97) {
                    assertEquals((a[i] + b[i] + c[i]) / 3, three[i], 1e-5, "every size becomes the square input");
                }
            } else {
                HeadlensException e = assertThrows(HeadlensException.class,
                        () -> Baseline.meanOf(lvlm, List.of(first, second, other), manager));
                assertTrue(e.getMessage().startsWith(other + ": the mean-image baseline") && e.getMessage().contains(first.toString())
                        && e.getMessage().contains("one size"), e.getMessage());
            }
        }
    }
}
