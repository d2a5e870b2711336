package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.headlens.Jinja;
import org.headlens.model.ImageInput;
import org.headlens.model.Lvlm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen2-VL's prompt through text: the reference model with a small word-level tokenizer that
 * has Qwen's special tokens at the fixture's ids. The prompt is what transformers'
 * {@code apply_chat_template} renders with Qwen2-VL-7B-Instruct's chat template for one image
 * and a question; headlens must tokenise it as the processor does (each {@code <|image_pad|>}
 * stands for the image's merged tokens), find the assistant role tokens at its end, and give the
 * text after the image the M-RoPE positions that continue after the image's largest one.
 */
class QwenChatPromptTest {
    /** Qwen2-VL-7B-Instruct's chat_template.json (before the training-only generation tags). */
    static final String TEMPLATE = "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
            + "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
            + "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}"
            + "{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
            + "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
            + "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}"
            + "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
            + "<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}"
            + "<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    /** Special tokens at the reference config's ids (vision_start 124 ... image_pad 127). */
    static final Map<String, Integer> SPECIAL = new LinkedHashMap<>(Map.of("<|endoftext|>", 120, "<|im_start|>", 121, "<|im_end|>", 122,
            "<|vision_start|>", 124, "<|vision_end|>", 125, "<|video_pad|>", 126, "<|image_pad|>", 127));
    static final List<String> WORDS = List.of("<unk>", "\n", "system", "You", "are", "a", "helpful", "assistant", ".", "user", "What",
            "is", "the", "main", "object", "in", "image", "?", "circle");

    @TempDir
    static Path dir;

    /** The reference folder with a tokenizer.json: words split at spaces, newlines and punctuation kept as tokens. */
    static Path withTokenizer() throws Exception {
        Path reference = Fixtures.model("qwen2-vl");
        Path folder = dir.resolve("qwen2-vl-with-tokenizer");
        Files.createDirectories(folder);
        for (String name : List.of("config.json", "model.safetensors", "preprocessor_config.json")) {
            Files.createSymbolicLink(folder.resolve(name), reference.resolve(name).toAbsolutePath());
        }
        JsonObject vocab = new JsonObject();
        for (int i = 0; i < WORDS.size(); i++) {
            vocab.addProperty(WORDS.get(i), i);
        }
        JsonArray added = new JsonArray();
        for (Map.Entry<String, Integer> special : SPECIAL.entrySet()) {
            vocab.addProperty(special.getKey(), special.getValue());
            JsonObject token = JsonParser.parseString("{\"single_word\": false, \"lstrip\": false, \"rstrip\": false,"
                    + " \"normalized\": false, \"special\": true}").getAsJsonObject();
            token.addProperty("id", special.getValue());
            token.addProperty("content", special.getKey());
            added.add(token);
        }
        JsonObject model = new JsonObject();
        model.addProperty("type", "WordLevel");
        model.add("vocab", vocab);
        model.addProperty("unk_token", "<unk>");
        JsonObject tokenizer = JsonParser.parseString("{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,"
                + " \"normalizer\": null, \"post_processor\": null, \"decoder\": null, \"pre_tokenizer\": {\"type\": \"Sequence\","
                + " \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Removed\", \"invert\": false},"
                + " {\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\n|[?.]\"}, \"behavior\": \"Isolated\", \"invert\": false}]}}")
                .getAsJsonObject();
        tokenizer.add("added_tokens", added);
        tokenizer.add("model", model);
        Files.writeString(folder.resolve("tokenizer.json"), tokenizer.toString());
        return folder;
    }

    private static long[] ids(String... tokens) {
        long[] ids = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            ids[i] = SPECIAL.containsKey(tokens[i]) ? SPECIAL.get(tokens[i]) : WORDS.indexOf(tokens[i]);
            assertTrue(ids[i] >= 0, tokens[i]);
        }
        return ids;
    }

    @Test
    void theChatTemplatesPromptGivesTheProcessorsIdsRoleTokensAndPositions() throws Exception {
        JsonArray messages = JsonParser.parseString("[{\"role\": \"user\", \"content\": [{\"type\": \"image\"},"
                + " {\"type\": \"text\", \"text\": \"What is the main object in the image?\"}]}]").getAsJsonArray();
        String text = Jinja.render(TEMPLATE, messages, true, Map.of());
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                + "<|vision_start|><|image_pad|><|vision_end|>What is the main object in the image?<|im_end|>\n<|im_start|>assistant\n", text);
        try (Lvlm model = Lvlm.load(withTokenizer()); NDManager manager = model.newScope()) {
            ImageInput image = model.preprocess(manager, Fixtures.model("qwen2-vl").resolve("image.png"));
            assertArrayEquals(new long[] {1, 4, 6}, image.grid());
            Prompt prompt = Prompt.of(model, text, image);
            String[] prefix = {"<|im_start|>", "system", "\n", "You", "are", "a", "helpful", "assistant", ".", "<|im_end|>", "\n",
                "<|im_start|>", "user", "\n", "<|vision_start|>"};
            String[] suffix = {"<|vision_end|>", "What", "is", "the", "main", "object", "in", "the", "image", "?", "<|im_end|>", "\n",
                "<|im_start|>", "assistant", "\n"};
            List<String> written = new ArrayList<>(List.of(prefix));
            written.add("<|image_pad|>");
            written.addAll(List.of(suffix));
            assertArrayEquals(ids(written.toArray(String[]::new)), prompt.inputIds(), "the tokenizer's ids of the template's text");
            // the processor repeats <|image_pad|> once per merged token: (4 / 2) x (6 / 2) = 6
            List<String> expanded = new ArrayList<>(List.of(prefix));
            for (int i = 0; i < 6; i++) {
                expanded.add("<|image_pad|>");
            }
            expanded.addAll(List.of(suffix));
            assertArrayEquals(ids(expanded.toArray(String[]::new)), prompt.layout().decoderIds());
            assertEquals(15, prompt.layout().imageStart());
            assertEquals(6, prompt.layout().imageLength());
            int length = 15 + 6 + 15;
            assertArrayEquals(new int[] {length - 3, length - 2, length - 1}, prompt.positions(TokenGroup.ROLE),
                    "<|im_start|> assistant \\n");
            assertArrayEquals(new int[] {length - 1}, prompt.positions(TokenGroup.FINAL));
            assertArrayEquals(IntStream.range(21, length - 3).toArray(), prompt.positions(TokenGroup.QUESTION));
            assertArrayEquals(IntStream.range(0, 15).toArray(), prompt.positions(TokenGroup.PREFIX_TEXT));
            // M-RoPE: the image spans t = 15, h = 15..16, w = 15..17; the text after it goes on from 18
            long[][] rows = prompt.layout().positionRows();
            assertEquals(3, rows.length);
            for (long[] row : rows) {
                assertEquals(14, row[14]);
                assertEquals(18, row[21]);
                assertEquals(18 + 14, row[length - 1]);
            }
            assertArrayEquals(new long[] {15, 15, 15, 16, 16, 16}, java.util.Arrays.copyOfRange(rows[1], 15, 21));
            assertArrayEquals(new long[] {15, 16, 17, 15, 16, 17}, java.util.Arrays.copyOfRange(rows[2], 15, 21));

            // a LLaVA-style ending is not Qwen's role marker
            HeadlensException e = assertThrows(HeadlensException.class,
                    () -> Prompt.of(model, text.substring(0, text.lastIndexOf("<|im_start|>")) + "ASSISTANT:", image));
            assertTrue(e.getMessage().contains("role marker") && e.getMessage().contains("<|im_start|>assistant"), e.getMessage());
        }
    }
}
