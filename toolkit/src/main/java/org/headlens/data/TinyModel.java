package org.headlens.data;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
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
    /** The object question as a user types it. */
    public static final String OBJECT_QUESTION = "What is the main object in the image? Answer with one word.";
    /** The object question, in LLaVA-1.5 chat form: what {@link #CHAT_TEMPLATE} makes of it. */
    public static final String OBJECT_PROMPT = "USER: <image>\n" + OBJECT_QUESTION + " ASSISTANT:";
    /** The colour question as a user types it. */
    public static final String COLOUR_QUESTION = "What is the colour of the object? Answer with one word.";
    /** The colour question, asked on every fourth training step, in chat form. */
    public static final String COLOUR_PROMPT = "USER: <image>\n" + COLOUR_QUESTION + " ASSISTANT:";
    /**
     * The LLaVA-1.5 conversation as a Jinja template in transformers' form (rendered in a
     * sandbox with {@code trim_blocks} and {@code lstrip_blocks}): each turn is its role in
     * capitals and a colon (none for a system turn), a placeholder and newline per image, then
     * each text followed by a space; the generation prompt is {@code ASSISTANT:}. A user turn with
     * one image and {@link #OBJECT_QUESTION} renders as {@link #OBJECT_PROMPT}. A content given as a
     * plain string counts as one text.
     */
    public static final String CHAT_TEMPLATE = "{% for message in messages %}"
            + "{% if message['content'] is string %}{% set parts = [{'type': 'text', 'text': message['content']}] %}"
            + "{% else %}{% set parts = message['content'] %}{% endif %}"
            + "{% if message['role'] != 'system' %}{{ message['role'] | upper }}{{ ': ' }}{% endif %}"
            + "{% for part in parts %}{% if part['type'] == 'image' %}{{ '<image>\\n' }}{% endif %}{% endfor %}"
            + "{% for part in parts %}{% if part['type'] == 'text' %}{{ part['text'] + ' ' }}{% endif %}{% endfor %}"
            + "{% endfor %}"
            + "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";
    private static final String BOS = "<s>";
    private static final String EOS = "</s>";
    private static final String UNK = "<unk>";
    private static final List<String> SPECIAL = List.of(UNK, BOS, EOS, "<image>");
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
     * Writes config, tokenizer and chat template as transformers reads them ({@code config.json},
     * {@code tokenizer.json}, {@code tokenizer_config.json}, {@code chat_template.json});
     * {@link org.headlens.model.Lvlm#save} adds the weights and the processor they were trained with.
     *
     * @param folder model folder
     * @param config the architecture
     */
    public static void writeFolderFiles(Path folder, JsonObject config) {
        Gson pretty = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
        JsonObject chatTemplate = new JsonObject();
        chatTemplate.addProperty("chat_template", CHAT_TEMPLATE);
        try {
            Files.createDirectories(folder);
            Files.writeString(folder.resolve("config.json"), new GsonBuilder().setPrettyPrinting().create().toJson(config));
            Files.writeString(folder.resolve("tokenizer.json"), tokenizerJson());
            Files.writeString(folder.resolve("tokenizer_config.json"), pretty.toJson(tokenizerConfig(config)) + "\n");
            Files.writeString(folder.resolve("chat_template.json"), pretty.toJson(chatTemplate) + "\n");
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot write model files (" + e.getMessage() + ")", e);
        }
    }

    /**
     * What AutoTokenizer needs beside tokenizer.json: the fast class that takes tokenizer.json as
     * it is (without a tokenizer_config.json transformers picks LLaMA's SentencePiece tokenizer
     * from the model type), the special tokens, and that BOS is prepended and EOS is not, as the
     * post-processor of tokenizer.json does. Padding (which headlens never does) uses
     * {@code <unk>}, as LLaVA's training code did; on the left, for batched generation.
     */
    static JsonObject tokenizerConfig(JsonObject config) {
        JsonObject tokenizer = new JsonObject();
        tokenizer.addProperty("tokenizer_class", "PreTrainedTokenizerFast");
        tokenizer.addProperty("processor_class", "LlavaProcessor");
        tokenizer.addProperty("bos_token", BOS);
        tokenizer.addProperty("eos_token", EOS);
        tokenizer.addProperty("unk_token", UNK);
        tokenizer.addProperty("pad_token", UNK);
        tokenizer.addProperty("add_bos_token", true);
        tokenizer.addProperty("add_eos_token", false);
        tokenizer.addProperty("model_max_length",
                config.getAsJsonObject("text_config").get("max_position_embeddings").getAsInt());
        tokenizer.addProperty("padding_side", "left");
        tokenizer.addProperty("clean_up_tokenization_spaces", false);
        JsonObject decoder = new JsonObject();
        List<String> vocab = vocabulary();
        for (String special : SPECIAL) {
            decoder.add(String.valueOf(vocab.indexOf(special)), addedToken(special));
        }
        tokenizer.add("added_tokens_decoder", decoder);
        tokenizer.addProperty("chat_template", CHAT_TEMPLATE);
        return tokenizer;
    }

    /** A special token as tokenizer.json and tokenizer_config.json describe it. */
    private static JsonObject addedToken(String content) {
        JsonObject token = new JsonObject();
        token.addProperty("content", content);
        token.addProperty("single_word", false);
        token.addProperty("lstrip", false);
        token.addProperty("rstrip", false);
        token.addProperty("normalized", false);
        token.addProperty("special", true);
        return token;
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
            addedToken(special).entrySet().forEach(field -> token.add(field.getKey(), field.getValue()));
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
