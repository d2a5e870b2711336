package org.headlens.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;

/**
 * The embedded tiny LLaVA: its architecture, word-level vocabulary and prompt, written in the
 * Hugging Face folder layout so that the same loader reads it as it reads real checkpoints.
 */
public final class TinyModel {
    /** Image side in pixels; 8-pixel patches give 8 x 8 = 64 image tokens. */
    public static final int IMAGE_SIZE = 64;
    /** The object question, in LLaVA-1.5 chat form. */
    public static final String OBJECT_PROMPT = "USER: <image>\nWhat is the main object in the image? Answer with one word. ASSISTANT:";
    /** The colour question, asked on every fourth training step. */
    public static final String COLOUR_PROMPT = "USER: <image>\nWhat is the colour of the object? Answer with one word. ASSISTANT:";
    private static final List<String> SPECIAL = List.of("<unk>", "<s>", "</s>", "<image>");
    private static final List<String> WORDS = List.of("USER", "ASSISTANT", ":", "What", "is", "the", "main", "object",
            "in", "image", "?", "Answer", "with", "one", "word", ".", "colour", "of");

    private TinyModel() {
    }

    /** @return the vocabulary, id = index */
    public static List<String> vocabulary() {
        List<String> vocab = new ArrayList<>(SPECIAL);
        vocab.addAll(WORDS);
        vocab.addAll(SyntheticShapes.SHAPES);
        vocab.addAll(SyntheticShapes.COLOURS);
        vocab.addAll(SyntheticShapes.STYLES);
        return vocab;
    }

    /**
     * The architecture as {@code config.json}.
     *
     * @param layers decoder layers
     * @param heads decoder heads
     * @param hidden decoder width
     * @return the config
     */
    public static JsonObject config(int layers, int heads, int hidden) {
        JsonObject vision = new JsonObject();
        vision.addProperty("model_type", "clip_vision_model");
        vision.addProperty("hidden_size", 96);
        vision.addProperty("intermediate_size", 384);
        vision.addProperty("num_hidden_layers", 3);
        vision.addProperty("num_attention_heads", 4);
        vision.addProperty("image_size", IMAGE_SIZE);
        vision.addProperty("patch_size", 8);
        vision.addProperty("projection_dim", 64);
        JsonObject text = new JsonObject();
        text.addProperty("model_type", "llama");
        text.addProperty("hidden_size", hidden);
        text.addProperty("intermediate_size", hidden * 2);
        text.addProperty("num_hidden_layers", layers);
        text.addProperty("num_attention_heads", heads);
        text.addProperty("num_key_value_heads", heads);
        text.addProperty("vocab_size", vocabulary().size());
        text.addProperty("rms_norm_eps", 1e-5);
        text.addProperty("max_position_embeddings", 256);
        JsonObject config = new JsonObject();
        JsonArray architectures = new JsonArray();
        architectures.add("LlavaForConditionalGeneration");
        config.add("architectures", architectures);
        config.addProperty("model_type", "llava");
        config.addProperty("image_token_index", vocabulary().indexOf("<image>"));
        config.addProperty("projector_hidden_act", "gelu");
        config.addProperty("vision_feature_layer", -1);
        config.addProperty("vision_feature_select_strategy", "default");
        config.add("vision_config", vision);
        config.add("text_config", text);
        config.addProperty("torch_dtype", "float32");
        return config;
    }

    /**
     * Writes config, tokenizer and chat template; {@link org.headlens.model.Lvlm#save} adds the
     * weights and the image processor they were trained with.
     *
     * @param folder model folder
     * @param config the architecture
     */
    public static void writeFolderFiles(Path folder, JsonObject config) {
        try {
            Files.createDirectories(folder);
            Files.writeString(folder.resolve("config.json"), new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(config));
            Files.writeString(folder.resolve("tokenizer.json"), tokenizerJson());
            Files.writeString(folder.resolve("chat_template.json"), "{\n  \"chat_template\": \"USER: <image>\\n{question} ASSISTANT:\",\n"
                    + "  \"object_prompt\": " + new com.google.gson.Gson().toJson(OBJECT_PROMPT) + ",\n"
                    + "  \"colour_prompt\": " + new com.google.gson.Gson().toJson(COLOUR_PROMPT) + ",\n"
                    + "  \"answer\": \"the first token of the answer word, e.g. circle or red\"\n}\n");
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot write model files (" + e.getMessage() + ")", e);
        }
    }

    /** A word-level tokenizer.json: whitespace and punctuation split, BOS prepended. */
    static String tokenizerJson() {
        List<String> vocab = vocabulary();
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < vocab.size(); i++) {
            ids.put(vocab.get(i), i);
        }
        JsonObject tokenizer = new JsonObject();
        tokenizer.addProperty("version", "1.0");
        tokenizer.add("truncation", null);
        tokenizer.add("padding", null);
        JsonArray added = new JsonArray();
        for (String special : SPECIAL) {
            JsonObject token = new JsonObject();
            token.addProperty("id", ids.get(special));
            token.addProperty("content", special);
            token.addProperty("single_word", false);
            token.addProperty("lstrip", false);
            token.addProperty("rstrip", false);
            token.addProperty("normalized", false);
            token.addProperty("special", true);
            added.add(token);
        }
        tokenizer.add("added_tokens", added);
        tokenizer.add("normalizer", null);
        JsonObject pre = new JsonObject();
        pre.addProperty("type", "Whitespace");
        tokenizer.add("pre_tokenizer", pre);
        tokenizer.add("post_processor", com.google.gson.JsonParser.parseString("{\"type\":\"TemplateProcessing\","
                + "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                + "\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],"
                + "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}}"));
        tokenizer.add("decoder", null);
        JsonObject model = new JsonObject();
        model.addProperty("type", "WordLevel");
        model.add("vocab", new com.google.gson.Gson().toJsonTree(ids));
        model.addProperty("unk_token", "<unk>");
        tokenizer.add("model", model);
        return new com.google.gson.GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(tokenizer);
    }
}
