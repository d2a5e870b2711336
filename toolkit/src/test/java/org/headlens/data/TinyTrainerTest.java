package org.headlens.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;
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
        for (String file : new String[] {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json",
            "tokenizer_config.json", "processor_config.json", "chat_template.json"}) {
            assertTrue(Files.isRegularFile(dir.resolve(file)), file);
        }
        // the trainer's folder, like every folder the toolkit writes, loads in transformers as it is
        ExportedFolderTest.assertLoadsElsewhere(dir);
        try (Lvlm model = Lvlm.load(dir)) {
            assertArrayEquals(TinyTrainer.promptIds(TinyModel.OBJECT_PROMPT), model.encode(TinyModel.OBJECT_PROMPT), "tokenizer.json agrees with the trainer's ids");
            assertTrue(model.encodeWithoutSpecialTokens("hexagon").length == 1);
            // the folder preprocesses images exactly as training did: a model trained with CLIP's
            // normalisation and read back with another once lost 1.5 points of accuracy silently
            BufferedImage image = new SyntheticShapes(TinyModel.IMAGE_SIZE, 5).sample("t", 0).image();
            ModelConfig config = ModelConfig.parse(dir.resolve("config.json"), TinyModel.config(2, 2, 32));
            try (Lvlm trained = Lvlm.random(config, 3); NDManager manager = NDManager.newBaseManager()) {
                float difference = trained.imageProcessor().pixelValues(manager, image)
                        .sub(model.imageProcessor().pixelValues(manager, image)).abs().max().getFloat();
                assertEquals(0f, difference, "pixel values of the trainer and of the saved folder");
            }
        }
    }
}
