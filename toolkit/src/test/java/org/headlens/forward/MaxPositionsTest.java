package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import org.headlens.HeadlensException;
import org.headlens.data.TinyModel;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelCopies;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prompts longer than the model's positions, and passes larger than memory, are refused from their sizes. */
class MaxPositionsTest {
    private static Path withMaxPositions(Path dir, long positions) {
        return ModelCopies.withConfig(ModelCopies.TINY, dir.resolve("max" + positions),
                text -> text.replace("\"max_position_embeddings\": 256", "\"max_position_embeddings\": " + positions));
    }

    @Test
    void aPromptLongerThanMaxPositionEmbeddingsIsRefusedNamingTheLimit(@TempDir Path dir) {
        int length;
        try (Lvlm model = Lvlm.load(ModelCopies.TINY)) {
            length = Prompt.of(model, TinyModel.OBJECT_PROMPT).layout().length();
            String longQuestion = TinyModel.OBJECT_PROMPT.replace("What is", "What is " + "the main object ".repeat(60));
            HeadlensException e = assertThrows(HeadlensException.class, () -> Prompt.of(model, longQuestion));
            assertTrue(e.getMessage().matches("the prompt is \\d+ positions \\(\\d+ text tokens and 64 image tokens\\), more than the model's "
                    + "text_config.max_position_embeddings of 256"), e.getMessage());
            long[] sixtyThousand = new long[60_000];
            Arrays.fill(sixtyThousand, 5);
            e = assertThrows(HeadlensException.class, () -> ForwardPass.run(model, sixtyThousand, null, Capture.everything()));
            assertEquals("the prompt is 60000 positions (60000 text tokens and 0 image tokens), more than the model's "
                    + "text_config.max_position_embeddings of 256", e.getMessage());
        }
        // exactly at the limit is accepted; one position less is not
        try (Lvlm model = Lvlm.load(withMaxPositions(dir, length))) {
            assertEquals(length, Prompt.of(model, TinyModel.OBJECT_PROMPT).layout().length());
        }
        try (Lvlm model = Lvlm.load(withMaxPositions(dir, length - 1))) {
            HeadlensException e = assertThrows(HeadlensException.class, () -> Prompt.of(model, TinyModel.OBJECT_PROMPT));
            assertTrue(e.getMessage().contains("the prompt is " + length + " positions") && e.getMessage().contains("of " + (length - 1)),
                    e.getMessage());
        }
    }

    @Test
    void aMistralDecoderComputesAsLlamaUpToItsSlidingWindowAndRefusesLongerPrompts(@TempDir Path dir) {
        long[] ids = new long[40];
        Arrays.fill(ids, 7);
        float[] llama;
        try (Lvlm model = Lvlm.load(ModelCopies.TINY); ForwardResult result = ForwardPass.run(model, ids, null)) {
            llama = result.finalLogits();
        }
        for (int window : new int[] {40, 39}) {
            Path mistral = ModelCopies.withConfig(ModelCopies.TINY, dir.resolve("window" + window),
                    text -> text.replace("\"model_type\": \"llama\"", "\"model_type\": \"mistral\", \"sliding_window\": " + window));
            try (Lvlm model = Lvlm.load(mistral)) {
                assertEquals("mistral", model.config().text().modelType());
                if (window == ids.length) {
                    try (ForwardResult result = ForwardPass.run(model, ids, null)) {
                        assertArrayEquals(llama, result.finalLogits(), "a window as long as the prompt hides nothing");
                    }
                } else {
                    HeadlensException e = assertThrows(HeadlensException.class, () -> ForwardPass.run(model, ids, null));
                    assertTrue(e.getMessage().startsWith("the prompt is 40 positions, more than the model's text_config.sliding_window of 39"),
                            e.getMessage());
                }
            }
        }
    }

    @Test
    void aPassLargerThanMemoryIsRefusedBeforeAnythingIsAllocated(@TempDir Path dir) {
        try (Lvlm model = Lvlm.load(withMaxPositions(dir, 1_000_000))) {
            long[] ids = new long[40_000];
            Arrays.fill(ids, 5);
            long start = System.nanoTime();
            // 8 heads x 40000 x 40000 scores per layer, in float32: hundreds of GB
            HeadlensException e = assertThrows(HeadlensException.class, () -> ForwardPass.run(model, ids, null));
            assertTrue(e.getMessage().matches("a forward pass over this prompt \\(40000 positions, batch 1\\) needs about \\d+\\.\\d GB, "
                    + "more than this machine's \\d+\\.\\d GB of memory"), e.getMessage());
            assertTrue(System.nanoTime() - start < 2_000_000_000L, "refused from sizes, not after trying");
            long[] longer = new long[50_000];
            Arrays.fill(longer, 5);
            e = assertThrows(HeadlensException.class, () -> ForwardPass.run(model, longer, null));
            assertTrue(e.getMessage().contains("50000 positions") && e.getMessage().contains("not supported"), e.getMessage());
        }
    }
}
