package org.headlens.interventions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.headlens.Fixtures;
import org.headlens.forward.Prompt;
import org.headlens.model.ImageInput;
import org.headlens.model.Images;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelCopies;
import org.headlens.model.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen2-VL against transformers 4.45.1's outputs (fixtures/hf/qwen2-vl) and LLaVA-NeXT against
 * 4.44.2's (fixtures/hf/llava-next-clip-llama): every tensor, head ablation, and the image processors.
 */
class FamilyParityTest {
    private static final String QWEN = "qwen2-vl";
    private static final String NEXT = "llava-next-clip-llama";

    @Test
    void llavaNextMatchesEveryReferenceTensor() {
        try (Lvlm model = Lvlm.load(Fixtures.model(NEXT))) {
            List<ReferenceCheck.Row> rows = ReferenceCheck.compare(model, Fixtures.model(NEXT));
            Set<String> compared = rows.stream().map(ReferenceCheck.Row::name).collect(Collectors.toSet());
            // the 26 of a LLaVA fixture plus the packed tiles and the logits from the expanded prompt
            assertEquals(29, rows.size(), "compared " + compared);
            assertTrue(compared.containsAll(Set.of("image_features_packed", "projector_output", "vision_hidden_states.2",
                    "vision_selected_features", "logits[input_ids_expanded]")), "compared " + compared);
            for (ReferenceCheck.Row row : rows) {
                assertTrue(row.passes(ReferenceCheck.TOLERANCE), row.name() + " differs by " + row.maxAbsDiff()
                        + ", allowed " + row.allowed(ReferenceCheck.TOLERANCE));
            }
        }
    }

    @Test
    void llavaNextWithItsDecoderTypedMistralMatchesTheSameReference(@TempDir Path dir) {
        // Mistral is LLaMA's graph: the LLaMA reference is Mistral's for the same weights, with the window off
        Path mistral = ModelCopies.withConfig(Fixtures.model(NEXT), dir.resolve("mistral"),
                text -> text.replace("\"model_type\": \"llama\"", "\"model_type\": \"mistral\", \"sliding_window\": null"));
        try (Lvlm model = Lvlm.load(mistral)) {
            assertEquals("mistral", model.config().text().modelType());
            assertEquals("[/INST]", model.family().assistantRole(), "llava-v1.6-mistral-7b-hf's chat template");
            List<ReferenceCheck.Row> rows = ReferenceCheck.compare(model, mistral);
            assertEquals(29, rows.size());
            for (ReferenceCheck.Row row : rows) {
                assertTrue(row.passes(ReferenceCheck.TOLERANCE), row.name() + " differs by " + row.maxAbsDiff());
            }
        }
    }

    @Test
    void llavaNextHeadAblationMatchesReference() {
        try (Lvlm model = Lvlm.load(Fixtures.model(NEXT))) {
            List<ReferenceCheck.Row> rows = ReferenceCheck.compareAblations(model, Fixtures.model(NEXT));
            assertEquals(7, rows.size());
            for (ReferenceCheck.Row row : rows) {
                assertTrue(row.passes(ReferenceCheck.TOLERANCE), row.name() + " differs by " + row.maxAbsDiff());
            }
        }
    }

    @Test
    void llavaNextProcessorReproducesTilesAndLayout() {
        try (Lvlm model = Lvlm.load(Fixtures.model(NEXT)); NDManager manager = model.newScope()) {
            SafeTensors reference = SafeTensors.open(Fixtures.model(NEXT).resolve("fixtures.safetensors"));
            for (String[] pair : new String[][] {{"image.png", "pixel_values"}, {"image_baseline.png", "pixel_values_baseline"}}) {
                ImageInput input = model.preprocess(manager, Images.read(Fixtures.model(NEXT).resolve(pair[0])));
                assertArrayEquals(new long[] {50, 82}, input.grid(), "image_sizes (height, width)");
                NDArray expected = reference.read(pair[1], manager);
                assertEquals(expected.getShape(), input.pixels().getShape());
                float difference = expected.sub(input.pixels()).abs().max().getFloat();
                assertTrue(difference <= 1e-5f, pair[0] + ": pixel values differ by " + difference);
            }
            ImageInput input = model.preprocess(manager, Images.read(Fixtures.model(NEXT).resolve("image.png")));
            Prompt prompt = Prompt.ofIds(model, reference.read("input_ids", manager).toLongArray(), input);
            assertEquals(4, prompt.layout().imageStart());
            assertEquals(52, prompt.layout().imageLength(), "16 base tokens and 4 kept rows of 8 plus a newline");
            assertEquals(64, prompt.layout().length());
        }
    }

    @Test
    void qwen2VlMatchesEveryReferenceTensor() {
        try (Lvlm model = Lvlm.load(Fixtures.model(QWEN))) {
            List<ReferenceCheck.Row> rows = ReferenceCheck.compare(model, Fixtures.model(QWEN));
            Set<String> compared = rows.stream().map(ReferenceCheck.Row::name).collect(Collectors.toSet());
            // logits, merger, merged embeddings, 3 vision states, 4 hidden states, 3 layer outputs,
            // 3 attentions, 9 q/k/v, the three-row position ids (hidden_states.0 and inputs_embeds_merged are one site)
            assertEquals(26, rows.size(), "compared " + compared);
            assertTrue(compared.containsAll(Set.of("logits", "position_ids", "vision_merger_output", "vision_hidden_states.2",
                    "decoder_q_post_rope.2", "inputs_embeds_merged")), "compared " + compared);
            for (ReferenceCheck.Row row : rows) {
                assertTrue(row.passes(ReferenceCheck.TOLERANCE), row.name() + " differs by " + row.maxAbsDiff()
                        + ", allowed " + row.allowed(ReferenceCheck.TOLERANCE));
            }
        }
    }

    @Test
    void qwen2VlHeadAblationMatchesReference() {
        try (Lvlm model = Lvlm.load(Fixtures.model(QWEN))) {
            List<ReferenceCheck.Row> rows = ReferenceCheck.compareAblations(model, Fixtures.model(QWEN));
            assertEquals(7, rows.size());
            for (ReferenceCheck.Row row : rows) {
                assertTrue(row.passes(ReferenceCheck.TOLERANCE), row.name() + " differs by " + row.maxAbsDiff());
            }
        }
    }

    @Test
    void qwen2VlProcessorReproducesPixelValuesAndGrid() {
        try (Lvlm model = Lvlm.load(Fixtures.model(QWEN)); NDManager manager = model.newScope()) {
            SafeTensors reference = SafeTensors.open(Fixtures.model(QWEN).resolve("fixtures.safetensors"));
            ImageInput input = model.preprocess(manager, Images.read(Fixtures.model(QWEN).resolve("image.png")));
            assertArrayEquals(new long[] {1, 4, 6}, input.grid());
            NDArray expected = reference.read("pixel_values", manager);
            assertEquals(expected.getShape(), input.pixels().getShape());
            float difference = expected.sub(input.pixels()).abs().max().getFloat();
            assertTrue(difference <= 1e-5f, "pixel values differ by " + difference);
            long[] ids = reference.read("input_ids", manager).toLongArray();
            Prompt prompt = Prompt.ofIds(model, ids, input);
            assertEquals(5, prompt.layout().imageStart());
            assertEquals(6, prompt.layout().imageLength());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 5, 5, 6, 6, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                    prompt.layout().positionRows()[1], "height row of the M-RoPE position ids");
        }
    }
}
