package org.headlens.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.headlens.model.Lvlm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyTrainerTest {
    @Test
    void aFewStepsOfASmallConfigurationLowerTheLossAndWriteALoadableFolder(@TempDir Path dir) throws Exception {
        TinyTrainer trainer = new TinyTrainer(20, 40, 8, 3e-3, 3, 2, 2, 32);
        List<TinyTrainer.Loss> losses = trainer.train(dir, null);
        assertEquals(List.of("vision", "language object", "language colour"), losses.stream().map(TinyTrainer.Loss::name).toList());
        TinyTrainer.Loss vision = losses.get(0);
        TinyTrainer.Loss object = losses.get(1);
        assertTrue(vision.last() < vision.first() - 0.1, "vision loss fell from " + vision.first() + " to " + vision.last());
        assertTrue(object.last() < object.first() - 0.5, "object loss fell from " + object.first() + " to " + object.last());
        for (String file : new String[] {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"}) {
            assertTrue(Files.isRegularFile(dir.resolve(file)), file);
        }
        try (Lvlm model = Lvlm.load(dir)) {
            assertArrayEquals(TinyTrainer.promptIds(TinyModel.OBJECT_PROMPT), model.encode(TinyModel.OBJECT_PROMPT), "tokenizer.json agrees with the trainer's ids");
            assertTrue(model.encodeWithoutSpecialTokens("hexagon").length == 1);
        }
    }
}
