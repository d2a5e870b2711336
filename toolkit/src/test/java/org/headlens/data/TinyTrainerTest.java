package org.headlens.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.headlens.model.Lvlm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyTrainerTest {
    @Test
    void aFewStepsOfASmallConfigurationLowerTheLossAndWriteALoadableFolder(@TempDir Path dir) throws Exception {
        TinyTrainer trainer = new TinyTrainer(40, 8, 3e-3, 3, 2, 2, 32);
        double[] loss = trainer.train(dir, null);
        assertTrue(loss[1] < loss[0] - 0.5, "loss fell from " + loss[0] + " to " + loss[1]);
        for (String file : new String[] {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"}) {
            assertTrue(Files.isRegularFile(dir.resolve(file)), file);
        }
        try (Lvlm model = Lvlm.load(dir)) {
            assertArrayEquals(TinyTrainer.promptIds(TinyModel.OBJECT_PROMPT), model.encode(TinyModel.OBJECT_PROMPT), "tokenizer.json agrees with the trainer's ids");
            assertTrue(model.encodeWithoutSpecialTokens("hexagon").length == 1);
        }
    }
}
