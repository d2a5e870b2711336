package org.headlens.interventions;

import static org.headlens.interventions.InterventionEngineTest.maxDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.headlens.Fixtures;
import org.headlens.forward.HeadMask;
import org.headlens.forward.Prompt;
import org.headlens.forward.TokenGroup;
import org.headlens.model.ImageInput;
import org.headlens.model.Images;
import org.headlens.model.Lvlm;
import org.headlens.model.SafeTensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The new families downstream of the forward pass: object and background tokens through each
 * family's layout, and the prefix-cache fast path (with each family's position ids) against a
 * full recompute for ablations and knockouts between token groups.
 */
class FamilyDownstreamTest {
    /** A mask of the original image: the right half for LLaVA-NeXT, the top half for Qwen2-VL. */
    private static boolean[][] halfMask(String name, int height, int width) {
        boolean[][] mask = new boolean[height][width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                mask[y][x] = name.startsWith("qwen") ? y < height / 2 : x >= width / 2;
            }
        }
        return mask;
    }

    private static Prompt prompt(Lvlm model, Path dir, NDManager manager, ImageInput image) {
        SafeTensors fixtures = SafeTensors.open(dir.resolve("ablations.safetensors"));
        Prompt ids = Prompt.ofIds(model, fixtures.read("input_ids", manager).toLongArray(), image);
        // call the last 2 suffix tokens the role tokens
        return new Prompt(ids.inputIds(), ids.layout(), 2, null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llava-next-clip-llama", "qwen2-vl"})
    void objectTokensFollowTheFamilyLayout(String name) {
        Path dir = Fixtures.model(name);
        try (Lvlm model = Lvlm.load(dir); NDManager manager = model.newScope()) {
            java.awt.image.BufferedImage picture = Images.read(dir.resolve("image.png"));
            ImageInput image = model.preprocess(manager, picture);
            Prompt prompt = prompt(model, dir, manager, image)
                    .withObjectMask(model, halfMask(name, picture.getHeight(), picture.getWidth()), 0.5);
            int start = prompt.layout().imageStart();
            int[] object = IntStream.of(prompt.positions(TokenGroup.IMAGE_OBJECT)).map(p -> p - start).toArray();
            if (name.startsWith("qwen")) {
                // 2 x 3 merged windows, row-major: the top row is the object
                assertArrayEquals(new int[] {0, 1, 2}, object);
            } else {
                // base tile (4 x 4): columns 2 and 3; then 4 kept rows of 8 cells and a newline each:
                // cells 4..7 of every row (x from 41 on), never the newline
                List<Integer> expected = new ArrayList<>(List.of(2, 3, 6, 7, 10, 11, 14, 15));
                for (int row = 0; row < 4; row++) {
                    for (int column = 4; column < 8; column++) {
                        expected.add(16 + row * 9 + column);
                    }
                }
                assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), object);
                // the newline tokens (the 9th cell of each row) are neither object nor background
                int[] newlines = {16 + 8, 16 + 17, 16 + 26, 16 + 35};
                assertArrayEquals(newlines, IntStream.of(prompt.positions(TokenGroup.IMAGE_OTHER)).map(p -> p - start).toArray());
                int[] background = IntStream.of(prompt.positions(TokenGroup.IMAGE_BACKGROUND)).map(p -> p - start).toArray();
                for (int newline : newlines) {
                    assertTrue(IntStream.of(background).noneMatch(p -> p == newline), "newline " + newline + " is not background");
                }
                assertEquals(8 + 16, background.length, "the 8 base and 16 tile cells off the object");
                // the random control draws from picture tokens only
                assertTrue(IntStream.of(prompt.positions(TokenGroup.IMAGE_RANDOM)).map(p -> p - start)
                        .noneMatch(p -> IntStream.of(newlines).anyMatch(n -> n == p)));
            }
            if (name.startsWith("qwen")) {
                assertEquals(0, prompt.positions(TokenGroup.IMAGE_OTHER).length, "every merged token shows the picture");
            }
            assertEquals(prompt.layout().imageLength(), prompt.positions(TokenGroup.IMAGE_OBJECT).length
                    + prompt.positions(TokenGroup.IMAGE_BACKGROUND).length + prompt.positions(TokenGroup.IMAGE_OTHER).length);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llava-next-clip-llama", "qwen2-vl"})
    void fastPathEqualsFullRecomputeForAblationsAndKnockouts(String name) {
        Path dir = Fixtures.model(name);
        try (Lvlm model = Lvlm.load(dir); NDManager manager = model.newScope()) {
            java.awt.image.BufferedImage picture = Images.read(dir.resolve("image.png"));
            ImageInput image = model.preprocess(manager, picture);
            NDArray baseline = model.preprocess(manager, Images.read(dir.resolve("image_baseline.png"))).pixels();
            Prompt prompt = prompt(model, dir, manager, image)
                    .withObjectMask(model, halfMask(name, picture.getHeight(), picture.getWidth()), 0.5);
            int layers = model.config().text().layers();
            int heads = model.config().text().heads();
            Random random = new Random(5);
            TokenGroup[] receivers = {TokenGroup.FINAL, TokenGroup.ROLE, TokenGroup.QUESTION, TokenGroup.SUFFIX_TEXT};
            TokenGroup[] sources = {TokenGroup.IMAGE, TokenGroup.IMAGE_OBJECT, TokenGroup.IMAGE_BACKGROUND, TokenGroup.PREFIX_TEXT};
            List<Intervention> interventions = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                Intervention ablation = Intervention.ablate(HeadMask.random(layers, heads, 0.5, random));
                if (i % 2 == 1) {
                    int first = random.nextInt(layers);
                    int[] window = IntStream.range(first, Math.min(layers, first + 2)).toArray();
                    ablation = ablation.and(Intervention.knockout(new Knockout(sources[random.nextInt(sources.length)],
                            receivers[random.nextInt(receivers.length)], window, null)));
                }
                interventions.add(ablation);
            }
            try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, image.pixels(), Baseline.image(baseline))) {
                float[][] fast = engine.finalLogits(interventions);
                float[][] full = engine.finalLogitsFullRecompute(interventions, 4);
                double worst = 0;
                double moved = 0;
                for (int i = 0; i < fast.length; i++) {
                    worst = Math.max(worst, maxDiff(fast[i], full[i]));
                    moved = Math.max(moved, maxDiff(fast[i], engine.clean()));
                }
                assertTrue(worst < 1e-5, name + ": fast path differs from full recompute by " + worst);
                assertTrue(moved > 0.05, name + ": the interventions change the logits (" + moved + ")");
            }
        }
    }
}
