package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelConfigTest {
    /** config.json omits defaults; config.full.json lists every field as transformers filled it in. */
    @ParameterizedTest
    @ValueSource(strings = {"llava-clip-llama", "llava-siglip-qwen2"})
    void omittedFieldsTakeTransformersDefaults(String name) throws Exception {
        Path folder = Fixtures.model(name);
        ModelConfig sparse = ModelConfig.read(folder);
        JsonObject full = JsonParser.parseString(Files.readString(folder.resolve("config.full.json"))).getAsJsonObject();
        ModelConfig complete = ModelConfig.parse(folder.resolve("config.full.json"), full);
        assertEquals(complete.vision(), sparse.vision());
        assertEquals(complete.text(), sparse.text());
        assertEquals(complete.imageTokenIndex(), sparse.imageTokenIndex());
        assertArrayEquals(complete.visionFeatureLayers(), sparse.visionFeatureLayers());
        assertEquals(complete.visionFeatureSelectStrategy(), sparse.visionFeatureSelectStrategy());
        assertEquals(16, sparse.imageTokens());
    }

    @Test
    void llamaAndClipDefaultsMatchTransformers() {
        JsonObject json = JsonParser.parseString("{\"model_type\":\"llava\",\"text_config\":{},"
                + "\"vision_config\":{\"model_type\":\"siglip_vision_model\"}}").getAsJsonObject();
        ModelConfig config = ModelConfig.parse(Path.of("config.json"), json);
        ModelConfig.TextConfig text = config.text();
        assertEquals("llama", text.modelType());
        assertEquals(32000, text.vocabSize());
        assertEquals(4096, text.hiddenSize());
        assertEquals(11008, text.intermediateSize());
        assertEquals(32, text.keyValueHeads());
        assertEquals(1e-6, text.rmsNormEps());
        assertEquals(10000.0, text.ropeTheta());
        ModelConfig.VisionConfig vision = config.vision();
        assertEquals(16, vision.patchSize());
        assertEquals("gelu_pytorch_tanh", vision.activation());
        assertEquals(1e-6, vision.layerNormEps());
        assertEquals(32000, config.imageTokenIndex());
        assertArrayEquals(new int[] {-2}, config.visionFeatureLayers());

        ModelConfig llava15 = ModelConfig.parse(Path.of("config.json"),
                JsonParser.parseString("{\"model_type\":\"llava\"}").getAsJsonObject());
        assertEquals(576, llava15.imageTokens(), "LLaVA-1.5's default tower: 336 px, patch 14, CLS dropped");
    }

    @Test
    void mistralDefaultsMatchTransformers() {
        ModelConfig.TextConfig mistral = ModelConfig.parse(Path.of("config.json"), JsonParser.parseString(
                "{\"model_type\":\"llava_next\",\"text_config\":{\"model_type\":\"mistral\"}}").getAsJsonObject()).text();
        assertEquals(8, mistral.keyValueHeads());
        assertEquals(14336, mistral.intermediateSize());
        assertEquals(131072, mistral.maxPositions());
        assertEquals(4096, mistral.slidingWindow());
        assertEquals(10000.0, mistral.ropeTheta());
        assertEquals(1e-6, mistral.rmsNormEps());
        assertEquals(false, mistral.attentionBias());
        // llava-v1.6-mistral-7b-hf's text_config: Mistral-7B v0.2, window off
        ModelConfig.TextConfig v02 = ModelConfig.parse(Path.of("config.json"), JsonParser.parseString("{\"model_type\":\"llava_next\","
                + "\"text_config\":{\"model_type\":\"mistral\",\"sliding_window\":null,\"rope_theta\":1000000.0}}").getAsJsonObject()).text();
        assertEquals(0, v02.slidingWindow());
        assertEquals(1e6, v02.ropeTheta());
        ModelConfig.TextConfig llama = ModelConfig.parse(Path.of("config.json"), JsonParser.parseString(
                "{\"model_type\":\"llava\",\"text_config\":{\"sliding_window\":16}}").getAsJsonObject()).text();
        assertEquals(0, llama.slidingWindow(), "LLaMA has no window, whatever the file says");
    }

    @Test
    void unknownModelTypeListsWhatIsSupported() {
        JsonObject json = JsonParser.parseString("{\"model_type\":\"blip\"}").getAsJsonObject();
        HeadlensException e = assertThrows(HeadlensException.class, () -> ModelConfig.parse(Path.of("x/config.json"), json));
        assertTrue(e.getMessage().contains("x/config.json") && e.getMessage().contains("llava")
                && e.getMessage().contains("qwen2") && e.getMessage().contains("siglip_vision_model"), e.getMessage());
        JsonObject text = JsonParser.parseString("{\"model_type\":\"llava\",\"text_config\":{\"model_type\":\"gemma\"}}").getAsJsonObject();
        e = assertThrows(HeadlensException.class, () -> ModelConfig.parse(Path.of("config.json"), text));
        assertTrue(e.getMessage().contains("gemma") && e.getMessage().contains("llama") && e.getMessage().contains("mistral"), e.getMessage());
    }

    @Test
    void contradictorySizesAreNamed() {
        JsonObject json = JsonParser.parseString("{\"model_type\":\"llava\",\"text_config\":"
                + "{\"hidden_size\":64,\"num_attention_heads\":4,\"num_key_value_heads\":3}}").getAsJsonObject();
        HeadlensException e = assertThrows(HeadlensException.class, () -> ModelConfig.parse(Path.of("config.json"), json));
        assertTrue(e.getMessage().contains("num_key_value_heads 3"), e.getMessage());
    }
}
