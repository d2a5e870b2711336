package org.headlens.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.headlens.Jinja;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;
import org.headlens.model.SafeTensors;
import org.headlens.model.VisionTower;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What headlens writes must load elsewhere: a model folder is read by transformers'
 * AutoTokenizer, AutoProcessor (with its Jinja chat template) and LlavaForConditionalGeneration
 * without falling back to defaults or initialising anything at random. transformers itself is
 * not installed here, so each file is checked against what transformers reads from it.
 */
class ExportedFolderTest {
    static final Path SHIPPED = Path.of("..", "datasets", "tiny-shapes", "model");
    private static final String POST_NORM = "vision_tower.vision_model.post_layernorm.weight";

    @Test
    void aFolderTheToolkitWritesLoadsElsewhereAndBackInHeadlensWithIdenticalLogits(@TempDir Path dir) throws Exception {
        JsonObject configJson = TinyModel.config(2, 2, 32);
        ModelConfig config = ModelConfig.parse(dir.resolve("config.json"), configJson);
        float[] before;
        try (Lvlm model = Lvlm.random(config, 7)) {
            before = logits(model);
            TinyModel.writeFolderFiles(dir, configJson);
            model.save(dir);
        }
        assertLoadsElsewhere(dir);
        try (Lvlm reloaded = Lvlm.load(dir)) {
            assertArrayEquals(before, logits(reloaded), "logits of the model before saving and after reloading");
        }
    }

    @Test
    void theShippedTinyModelLoadsElsewhere() throws Exception {
        assertLoadsElsewhere(SHIPPED);
    }

    @Test
    void savedTensorsAreExactlyThoseTransformersWritesForBothVisionFamilies(@TempDir Path dir) throws Exception {
        // the fixtures were written by transformers 4.44's save_pretrained
        for (String name : new String[] {"llava-clip-llama", "llava-siglip-qwen2"}) {
            Path reference = Fixtures.model(name);
            Path written = Files.createDirectories(dir.resolve(name));
            try (Lvlm model = Lvlm.random(ModelConfig.read(reference), 1)) {
                model.save(written);
            }
            assertEquals(Map.of(), difference(shapes(reference.resolve("model.safetensors")), shapes(written.resolve("model.safetensors"))),
                    name + ": tensors whose shape transformers writes (left) differs from what headlens saved (right)");
            Path copy = Files.createDirectories(dir.resolve(name + "-copy"));
            Files.copy(reference.resolve("config.json"), copy.resolve("config.json"));
            try (Lvlm model = Lvlm.load(reference)) {
                model.save(copy);
            }
            assertTensorsIdentical(reference.resolve("model.safetensors"), copy.resolve("model.safetensors"));
        }
    }

    @Test
    void postLayerNormIsCheckedWhenPresentAndKeptOnSaveThoughNoOutputDependsOnIt(@TempDir Path dir) throws Exception {
        JsonObject configJson = TinyModel.config(2, 2, 32);
        Path identity = dir.resolve("identity");
        try (Lvlm model = Lvlm.random(ModelConfig.parse(identity.resolve("config.json"), configJson), 3)) {
            TinyModel.writeFolderFiles(identity, configJson);
            model.save(identity);
        }
        Path scaled = copyFolder(identity, dir.resolve("scaled"));
        rewriteTensor(scaled, POST_NORM, (manager, tensor) -> tensor.mul(2.5f));
        Path resaved = copyFolder(identity, dir.resolve("resaved"));
        try (Lvlm a = Lvlm.load(identity); Lvlm b = Lvlm.load(scaled)) {
            assertArrayEquals(logits(a), logits(b), "LLaVA's features are taken before post_layernorm");
            b.save(resaved);
        }
        try (Lvlm c = Lvlm.load(resaved)) {
            float[] values = c.weights().get(POST_NORM, 96).toFloatArray();
            assertEquals(2.5f, values[0], "a loaded post_layernorm is written back as it was, not reset");
            assertEquals(2.5f, values[95]);
        }
        Path wrong = copyFolder(identity, dir.resolve("wrong"));
        rewriteTensor(wrong, POST_NORM, (manager, tensor) -> manager.ones(new ai.djl.ndarray.types.Shape(97)));
        HeadlensException refused = assertThrows(HeadlensException.class, () -> Lvlm.load(wrong).close());
        assertTrue(refused.getMessage().contains("'" + POST_NORM + "' has shape (97)"), refused.getMessage());
    }

    @Test
    void theChatTemplateRendersConversationsInLlavaForm() {
        JsonArray conversation = userTurn(TinyModel.OBJECT_QUESTION);
        JsonObject answer = new JsonObject();
        answer.addProperty("role", "assistant");
        answer.add("content", text("circle"));
        conversation.add(answer);
        JsonObject followUp = new JsonObject();
        followUp.addProperty("role", "user");
        followUp.addProperty("content", TinyModel.COLOUR_QUESTION);
        conversation.add(followUp);
        assertEquals(TinyModel.OBJECT_PROMPT + " circle USER: " + TinyModel.COLOUR_QUESTION + " ASSISTANT:",
                Jinja.render(TinyModel.CHAT_TEMPLATE, conversation, true, Map.of()));
        assertEquals("USER: <image>\n" + TinyModel.OBJECT_QUESTION + " ",
                Jinja.render(TinyModel.CHAT_TEMPLATE, userTurn(TinyModel.OBJECT_QUESTION), false, Map.of()));
    }

    /** Every file transformers reads agrees with what headlens reads from the same folder. */
    static void assertLoadsElsewhere(Path folder) throws Exception {
        JsonObject config = json(folder.resolve("config.json"));
        ModelConfig modelConfig = ModelConfig.read(folder);
        JsonObject tokenizerJson = json(folder.resolve("tokenizer.json"));
        JsonObject tokenizerConfig = json(folder.resolve("tokenizer_config.json"));
        JsonObject processorConfig = json(folder.resolve("processor_config.json"));
        JsonObject preprocessorConfig = json(folder.resolve("preprocessor_config.json"));
        JsonObject chatTemplate = json(folder.resolve("chat_template.json"));

        // (a) the chat template: transformers' file form, rendered by jinja2 as transformers does
        assertEquals(Set.of("chat_template"), chatTemplate.keySet(), "chat_template.json holds the template only");
        String template = chatTemplate.get("chat_template").getAsString();
        assertEquals(template, tokenizerConfig.get("chat_template").getAsString(), "tokenizer and processor share one template");
        Map<String, String> specials = new LinkedHashMap<>();
        for (String role : new String[] {"bos_token", "eos_token", "unk_token", "pad_token"}) {
            specials.put(role, tokenizerConfig.get(role).getAsString());
        }
        String objectPrompt = Jinja.render(template, userTurn(TinyModel.OBJECT_QUESTION), true, specials);
        assertEquals(TinyModel.OBJECT_PROMPT, objectPrompt, "apply_chat_template gives the prompt headlens asks");
        assertEquals(TinyModel.COLOUR_PROMPT, Jinja.render(template, userTurn(TinyModel.COLOUR_QUESTION), true, specials));

        // (c) the tokenizer: AutoTokenizer takes tokenizer.json as it is, with the same special tokens
        assertEquals("PreTrainedTokenizerFast", tokenizerConfig.get("tokenizer_class").getAsString());
        Map<String, Integer> added = new TreeMap<>();
        for (JsonElement token : tokenizerJson.getAsJsonArray("added_tokens")) {
            JsonObject object = token.getAsJsonObject();
            assertTrue(object.get("special").getAsBoolean(), object.toString());
            added.put(object.get("content").getAsString(), object.get("id").getAsInt());
        }
        JsonObject decoder = tokenizerConfig.getAsJsonObject("added_tokens_decoder");
        assertEquals(added.size(), decoder.size(), "added_tokens_decoder lists tokenizer.json's added tokens");
        for (Map.Entry<String, JsonElement> entry : decoder.entrySet()) {
            String content = entry.getValue().getAsJsonObject().get("content").getAsString();
            assertEquals(added.get(content), Integer.valueOf(entry.getKey()), "id of " + content);
            assertTrue(entry.getValue().getAsJsonObject().get("special").getAsBoolean());
        }
        assertEquals(config.getAsJsonObject("text_config").get("max_position_embeddings").getAsInt(),
                tokenizerConfig.get("model_max_length").getAsInt(), "model_max_length is the decoder's positions");
        try (Lvlm model = Lvlm.load(folder)) {
            for (Map.Entry<String, String> special : specials.entrySet()) {
                assertTrue(added.containsKey(special.getValue()), special + " is an added token of tokenizer.json");
                assertArrayEquals(new long[] {added.get(special.getValue())}, model.encodeWithoutSpecialTokens(special.getValue()),
                        special + " has the id headlens's tokenizer gives it");
            }
            long[] ids = model.encode("USER");
            boolean addsBos = ids.length == 2 && ids[0] == added.get(specials.get("bos_token"));
            assertEquals(addsBos, tokenizerConfig.get("add_bos_token").getAsBoolean(), "add_bos_token as headlens encodes");
            assertTrue(addsBos, "the tiny model's prompts start with BOS");
            assertEquals(ids[ids.length - 1] == added.get(specials.get("eos_token")), tokenizerConfig.get("add_eos_token").getAsBoolean());
            assertArrayEquals(new long[] {added.get(specials.get("unk_token"))}, model.encodeWithoutSpecialTokens("zebra"),
                    "an unknown word becomes unk_token");

            // the processor: LlavaProcessor expands the placeholder to as many tokens as the model has
            assertEquals("LlavaProcessor", processorConfig.get("processor_class").getAsString());
            assertEquals("LlavaProcessor", preprocessorConfig.get("processor_class").getAsString());
            assertEquals("CLIPImageProcessor", preprocessorConfig.get("image_processor_type").getAsString());
            assertEquals(modelConfig.vision().patchSize(), processorConfig.get("patch_size").getAsInt());
            assertEquals(modelConfig.visionFeatureSelectStrategy(), processorConfig.get("vision_feature_select_strategy").getAsString());
            int side = modelConfig.vision().patchesPerSide();
            int expanded = side * side + processorConfig.get("num_additional_image_tokens").getAsInt()
                    - (modelConfig.visionFeatureSelectStrategy().equals("default") ? 1 : 0);
            assertEquals(modelConfig.imageTokens(), expanded, "image tokens LlavaProcessor inserts");
            String imageToken = processorConfig.get("image_token").getAsString();
            assertArrayEquals(new long[] {modelConfig.imageTokenIndex()}, model.encodeWithoutSpecialTokens(imageToken),
                    "image_token is the placeholder of config.json");
            assertTrue(objectPrompt.contains(imageToken + "\n"), "the template writes the placeholder: " + objectPrompt);

            // (b) the weights: transformers' vision parameters that LLaVA never reads are there, neutral
            Map<String, String> stored = shapes(folder.resolve("model.safetensors"));
            for (VisionTower.UnusedParameter unused : VisionTower.unusedParameters(modelConfig.vision())) {
                assertEquals(Arrays.toString(unused.shape()), stored.get(unused.name()), unused.name());
                float[] values = model.weights().get(unused.name(), unused.shape()).toFloatArray();
                for (float value : values) {
                    assertEquals(unused.value(), value, unused.name() + " is an identity norm");
                }
            }
        }
    }

    private static float[] logits(Lvlm model) {
        long[] ids = TinyTrainer.promptIds(TinyModel.OBJECT_PROMPT);
        try (NDManager manager = model.newScope()) {
            NDArray pixels = model.imageProcessor().pixelValues(manager,
                    new SyntheticShapes(TinyModel.IMAGE_SIZE, 11).sample("export", 0).image());
            try (ForwardResult result = ForwardPass.run(model, ids, pixels)) {
                float[] logits = result.finalLogits();
                assertNotNull(logits);
                assertFalse(Float.isNaN(logits[0]));
                return logits;
            }
        }
    }

    private static JsonArray userTurn(String question) {
        JsonArray content = new JsonArray();
        JsonObject image = new JsonObject();
        image.addProperty("type", "image");
        content.add(image);
        content.addAll(text(question));
        JsonObject turn = new JsonObject();
        turn.addProperty("role", "user");
        turn.add("content", content);
        JsonArray messages = new JsonArray();
        messages.add(turn);
        return messages;
    }

    private static JsonArray text(String words) {
        JsonObject text = new JsonObject();
        text.addProperty("type", "text");
        text.addProperty("text", words);
        JsonArray content = new JsonArray();
        content.add(text);
        return content;
    }

    private static JsonObject json(Path file) throws Exception {
        assertTrue(Files.isRegularFile(file), file + " is written");
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }

    /** @return tensor name to shape, for every tensor of a safetensors file */
    private static Map<String, String> shapes(Path file) {
        Map<String, String> shapes = new TreeMap<>();
        SafeTensors.open(file).entries().forEach((name, entry) -> shapes.put(name, Arrays.toString(entry.shape())));
        return shapes;
    }

    /** @return name to "expected shape / actual shape" for every name whose shapes differ or that one side lacks */
    private static Map<String, String> difference(Map<String, String> expected, Map<String, String> actual) {
        Map<String, String> difference = new TreeMap<>();
        Set<String> names = new java.util.TreeSet<>(expected.keySet());
        names.addAll(actual.keySet());
        for (String name : names) {
            if (!java.util.Objects.equals(expected.get(name), actual.get(name))) {
                difference.put(name, expected.get(name) + " / " + actual.get(name));
            }
        }
        return difference;
    }

    static void assertTensorsIdentical(Path expected, Path actual) {
        SafeTensors a = SafeTensors.open(expected);
        SafeTensors b = SafeTensors.open(actual);
        assertEquals(a.entries().keySet(), b.entries().keySet(), "tensor names");
        try (NDManager manager = NDManager.newBaseManager()) {
            for (String name : a.entries().keySet()) {
                assertEquals(a.entries().get(name).dtype(), b.entries().get(name).dtype(), name);
                assertArrayEquals(a.read(name, manager).toByteArray(), b.read(name, manager).toByteArray(), name + " is bit-identical");
            }
        }
    }

    private static Path copyFolder(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
        return to;
    }

    private static void rewriteTensor(Path folder, String name,
            java.util.function.BiFunction<NDManager, NDArray, NDArray> edit) {
        Path file = folder.resolve("model.safetensors");
        SafeTensors source = SafeTensors.open(file);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String tensor : source.entries().keySet()) {
                NDArray array = source.read(tensor, manager);
                tensors.put(tensor, tensor.equals(name) ? edit.apply(manager, array) : array);
            }
            SafeTensors.write(file, tensors, Map.of("format", "pt"));
        }
    }
}
