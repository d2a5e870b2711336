package org.headlens.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.headlens.Fixtures;
import org.headlens.forward.Prompt;
import org.headlens.forward.TokenGroup;
import org.headlens.forward.TokenSet;
import org.headlens.interventions.Baseline;
import org.headlens.interventions.Intervention;
import org.headlens.interventions.InterventionEngine;
import org.headlens.interventions.Knockout;
import org.headlens.metric.Metric;
import org.headlens.model.ImageInput;
import org.headlens.model.Images;
import org.headlens.model.Lvlm;
import org.headlens.model.SafeTensors;
import org.headlens.notebook.Charts;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The per-patch map on every family's reference model: one map per token grid of the right
 * shape, and each cell's value is the knockout of the decoder position worked out by hand from
 * the family's layout (LLaVA-1.5: the patches after a kept CLS; LLaVA-NeXT: the 4x4 base tile,
 * then 4 rows of 8 tile cells each followed by a newline token; Qwen2-VL: 2x3 merged windows).
 */
class FamilyPatchEffectsTest {
    /** A grid as the test expects it: name, rows, columns and the image token of cell (r, c). */
    private record Expected(String name, int rows, int columns, int first, int rowStride) {
        int token(int row, int column) {
            return first + row * rowStride + column;
        }
    }

    private static List<Expected> expected(String name, Lvlm model) {
        return switch (name) {
            case "llava-next-clip-llama" -> List.of(new Expected("base", 4, 4, 0, 4), new Expected("tiles", 4, 8, 16, 9));
            case "qwen2-vl" -> List.of(new Expected("merged", 2, 3, 0, 3));
            default -> {
                int side = model.config().vision().patchesPerSide();
                yield List.of(new Expected("patches", side, side, model.config().imageTokens() - side * side, side));
            }
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"llava-clip-llama", "llava-siglip-qwen2", "llava-next-clip-llama", "qwen2-vl"})
    void everyCellIsTheKnockoutOfItsOwnToken(String name) {
        Path dir = Fixtures.model(name);
        try (Lvlm model = Lvlm.load(dir); NDManager manager = model.newScope()) {
            // the LLaVA-1.5 folders hold no picture; any picture does for them
            Path file = dir.resolve("image.png").toFile().exists() ? dir.resolve("image.png")
                    : Fixtures.model("llava-next-clip-llama").resolve("image.png");
            BufferedImage picture = Images.read(file);
            ImageInput image = model.preprocess(manager, picture);
            long[] ids = SafeTensors.open(dir.resolve("ablations.safetensors")).read("input_ids", manager).toLongArray();
            Prompt prompt = Prompt.ofIds(model, ids, image);
            int start = prompt.layout().imageStart();
            int layers = model.config().text().layers();
            int[] every = IntStream.range(0, layers).toArray();
            List<Expected> grids = expected(name, model);
            List<Intervention> byHand = new ArrayList<>();
            for (Expected grid : grids) {
                for (int r = 0; r < grid.rows(); r++) {
                    for (int c = 0; c < grid.columns(); c++) {
                        byHand.add(Intervention.knockout(new Knockout(TokenSet.of("cell", start + grid.token(r, c)), TokenGroup.SUFFIX_TEXT,
                                every, null)));
                    }
                }
            }
            float[] clean;
            float[][] knocked;
            try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, image.pixels(), Baseline.blank())) {
                clean = engine.clean();
                knocked = engine.finalLogits(byHand);
            }
            int answer = IntStream.range(0, clean.length).reduce((a, b) -> clean[a] >= clean[b] ? a : b).getAsInt();

            FlowTracer tracer = FlowTracer.of(model).options(FlowOptions.defaults().withMetric(Metric.LOGIT)).progress(null);
            PatchEffects effects = tracer.patchEffects(name, prompt, image, answer);
            assertEquals(Metric.LOGIT.of(clean, answer), effects.clean(), 1e-5);
            assertEquals(grids.stream().map(Expected::name).toList(), effects.grids().stream().map(PatchEffects.Grid::name).toList());
            int i = 0;
            double smallest = Double.MAX_VALUE;
            double largest = -Double.MAX_VALUE;
            for (Expected grid : grids) {
                PatchEffects.Grid map = effects.grid(grid.name());
                assertEquals(grid.rows(), map.rows(), name + " " + grid.name() + " rows");
                assertEquals(grid.columns(), map.columns(), name + " " + grid.name() + " columns");
                for (int r = 0; r < grid.rows(); r++) {
                    for (int c = 0; c < grid.columns(); c++, i++) {
                        double change = Metric.LOGIT.of(knocked[i], answer) - Metric.LOGIT.of(clean, answer);
                        assertEquals(start + grid.token(r, c), map.positions()[r * grid.columns() + c], name + " " + grid.name() + " cell " + r + "," + c);
                        assertEquals(change, map.change(r, c), 1e-4, name + " " + grid.name() + " cell " + r + "," + c);
                        smallest = Math.min(smallest, change);
                        largest = Math.max(largest, change);
                    }
                }
            }
            // the cells differ, so a cell read from another token would be caught
            assertTrue(largest - smallest > 1e-3, name + ": effects from " + smallest + " to " + largest);
            if (name.equals("llava-next-clip-llama")) {
                int[] newlines = prompt.positions(TokenGroup.IMAGE_OTHER);
                assertArrayEquals(new int[] {start + 24, start + 33, start + 42, start + 51}, newlines);
                for (PatchEffects.Grid map : effects.grids()) {
                    assertTrue(IntStream.of(map.positions()).noneMatch(p -> IntStream.of(newlines).anyMatch(n -> n == p)),
                            "a newline token is no cell");
                }
            }
            BufferedImage drawn = Charts.patchMap(picture, effects);
            assertEquals(256, drawn.getWidth());
            assertEquals(Math.round(256.0 * picture.getHeight() / picture.getWidth()), drawn.getHeight(), 1, "the picture's aspect");
        }
    }
}
