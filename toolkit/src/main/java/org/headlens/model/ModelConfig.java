package org.headlens.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.headlens.HeadlensException;

/**
 * A LLaVA-family {@code config.json}, with every field the graph needs. {@code save_pretrained}
 * omits fields that equal their defaults, so each omitted field takes the default of the
 * {@code transformers} config class for its {@code model_type} (v4.44).
 *
 * @param imageTokenIndex token id of the image placeholder
 * @param projectorActivation activation between the projector's two linear layers
 * @param projectorBias whether the projector's linear layers have biases ({@code multimodal_projector_bias})
 * @param visionFeatureLayers vision hidden-state indices whose features are used (concatenated)
 * @param visionFeatureSelectStrategy {@code default} (drop the CLS token) or {@code full}
 * @param vision the vision tower's config
 * @param text the decoder's config
 * @param family the family ({@code llava}, {@code llava_next} or {@code qwen2_vl}), which decides
 *     the vision side and the position ids ({@link Family})
 * @param gridPinpoints LLaVA-NeXT's candidate resolutions as (height, width), empty for other families
 */
public record ModelConfig(
        long imageTokenIndex,
        String projectorActivation,
        boolean projectorBias,
        int[] visionFeatureLayers,
        String visionFeatureSelectStrategy,
        VisionConfig vision,
        TextConfig text,
        String family,
        List<List<Integer>> gridPinpoints) {

    /** Model types this version of headlens can build. */
    public static final Set<String> SUPPORTED_TOP = Set.of("llava", "llava_next", "qwen2_vl");
    /** Vision tower types this version of headlens can build. */
    public static final Set<String> SUPPORTED_VISION = Set.of("clip_vision_model", "siglip_vision_model", "qwen2_vl");
    /** Vision towers of the LLaVA families (Qwen2-VL brings its own). */
    static final Set<String> LLAVA_VISION = Set.of("clip_vision_model", "siglip_vision_model");
    /** More image tokens than any vision tower makes (LLaVA-1.5: 577; a 1024-pixel SigLIP: 4096). */
    static final int MAX_IMAGE_TOKENS = 1 << 20;
    /** Decoder types this version of headlens can build. */
    public static final Set<String> SUPPORTED_TEXT = Set.of("llama", "mistral", "qwen2");

    /**
     * Vision tower configuration (CLIP or SigLIP).
     *
     * @param modelType {@code clip_vision_model} or {@code siglip_vision_model}
     * @param hiddenSize width of the tower
     * @param intermediateSize MLP width
     * @param layers number of encoder layers
     * @param heads attention heads
     * @param channels image channels
     * @param imageSize input side in pixels
     * @param patchSize patch side in pixels
     * @param activation MLP activation name as in transformers
     * @param layerNormEps LayerNorm epsilon
     * @param temporalPatchSize frames per patch (Qwen2-VL; 1 otherwise)
     * @param spatialMergeSize patches merged per side into one token (Qwen2-VL; 1 otherwise)
     * @param outputSize width of the merger's output (Qwen2-VL; 0 otherwise)
     */
    public record VisionConfig(String modelType, int hiddenSize, int intermediateSize, int layers, int heads,
            int channels, int imageSize, int patchSize, String activation, double layerNormEps,
            int temporalPatchSize, int spatialMergeSize, int outputSize) {
        /** @return true for CLIP (CLS token, pre-LayerNorm, conv without bias) */
        public boolean isClip() {
            return modelType.equals("clip_vision_model");
        }

        /** @return patches per side */
        public int patchesPerSide() {
            return imageSize / patchSize;
        }

        /** @return tokens the tower produces, including CLIP's CLS token */
        public int tokens() {
            return patchesPerSide() * patchesPerSide() + (isClip() ? 1 : 0);
        }
    }

    /**
     * Decoder configuration (LLaMA or Qwen2).
     *
     * @param modelType {@code llama} or {@code qwen2}
     * @param vocabSize vocabulary size
     * @param hiddenSize residual width
     * @param intermediateSize MLP width
     * @param layers number of decoder layers
     * @param heads query heads
     * @param keyValueHeads key/value heads (grouped-query attention when fewer than heads)
     * @param headDim width of one head
     * @param rmsNormEps RMSNorm epsilon
     * @param ropeTheta RoPE base
     * @param ropeLinearFactor position divisor of linear RoPE scaling (1 for none)
     * @param attentionBias whether q/k/v projections have biases (always for Qwen2)
     * @param tieWordEmbeddings whether lm_head shares the embedding matrix
     * @param maxPositions {@code max_position_embeddings}: the longest sequence the model was made for
     * @param mropeSection frequencies per position axis (t, h, w) of multi-axis RoPE (Qwen2-VL's
     *     {@code mrope_section}), or an empty array for ordinary one-axis RoPE
     * @param slidingWindow Mistral's {@code sliding_window}: a query sees only this many positions
     *     back, or 0 for none. Prompts no longer than it attend exactly as LLaMA's do, and longer
     *     ones are refused ({@code forward.TokenLayout})
     */
    public record TextConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize, int layers,
            int heads, int keyValueHeads, int headDim, double rmsNormEps, double ropeTheta, double ropeLinearFactor,
            boolean attentionBias, boolean tieWordEmbeddings, int maxPositions, List<Integer> mropeSection, int slidingWindow) {
        /** @return query heads that share one key/value head */
        public int groupSize() {
            return heads / keyValueHeads;
        }
    }

    /**
     * Reads {@code config.json} from a model folder.
     *
     * @param modelDir the folder
     * @return the config with defaults filled in
     */
    public static ModelConfig read(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new HeadlensException(file + ": not found; a model folder needs the config.json that save_pretrained writes");
        }
        JsonObject json = JsonFiles.readObject(file, JsonFiles.MAX_CONFIG_BYTES);
        return parse(file, json);
    }

    /**
     * Builds a config from parsed JSON.
     *
     * @param file where the JSON came from, for messages
     * @param json the top-level object
     * @return the config
     */
    public static ModelConfig parse(Path file, JsonObject json) {
        Fields top = new Fields(file, "", json);
        String modelType = top.string("model_type", null);
        if (modelType == null || !SUPPORTED_TOP.contains(modelType)) {
            throw new HeadlensException(file + ": model_type '" + modelType + "' is not supported; supported: "
                    + SUPPORTED_TOP + " with vision towers " + SUPPORTED_VISION + " and decoders " + SUPPORTED_TEXT);
        }
        if (modelType.equals("qwen2_vl")) {
            return qwen2Vl(file, json, top);
        }
        JsonObject visionJson = top.object("vision_config");
        VisionConfig vision = visionJson == null ? llavaDefaultVision() : vision(new Fields(file, "vision_config.", visionJson));
        JsonObject textJson = top.object("text_config");
        textJson = textJson == null ? new JsonObject() : textJson.deepCopy();
        if (!textJson.has("tie_word_embeddings") && top.has("tie_word_embeddings") && top.bool("tie_word_embeddings", false)) {
            // a checkpoint saved with tied weights has no lm_head; the flag may sit on either level
            textJson.addProperty("tie_word_embeddings", true);
        }
        TextConfig text = text(new Fields(file, "text_config.", textJson));

        int[] featureLayers;
        JsonElement layerElement = json.get("vision_feature_layer");
        if (layerElement == null || layerElement.isJsonNull()) {
            featureLayers = new int[] {-2};
        } else if (layerElement.isJsonArray()) {
            var array = layerElement.getAsJsonArray();
            if (array.isEmpty() || array.size() > vision.layers() + 1) {
                throw top.wrong("vision_feature_layer", "one to " + (vision.layers() + 1) + " layer indices");
            }
            featureLayers = new int[array.size()];
            for (int i = 0; i < featureLayers.length; i++) {
                featureLayers[i] = top.integer(array.get(i), "vision_feature_layer", "a list of layer indices");
            }
        } else {
            featureLayers = new int[] {top.integer("vision_feature_layer", -2)};
        }
        for (int layer : featureLayers) {
            int states = vision.layers() + 1;
            if (layer < -states || layer >= states) {
                throw new HeadlensException(file + ": vision_feature_layer " + layer + " is outside the tower's "
                        + states + " hidden states (embeddings plus " + vision.layers() + " layers)");
            }
        }
        String strategy = top.string("vision_feature_select_strategy", "default");
        if (!strategy.equals("default") && !strategy.equals("full")) {
            throw new HeadlensException(file + ": vision_feature_select_strategy '" + strategy
                    + "' is not supported; supported: default, full");
        }
        List<List<Integer>> pinpoints = List.of();
        if (modelType.equals("llava_next")) {
            pinpoints = pinpoints(top, vision);
            if (vision.isClip() && !strategy.equals("default")) {
                throw new HeadlensException(file + ": vision_feature_select_strategy 'full' keeps CLIP's CLS token, which LLaVA-NeXT's "
                        + "tile packing cannot place (transformers refuses it too)");
            }
        }
        return new ModelConfig(top.integer("image_token_index", 32000),
                top.activation("projector_hidden_act", "gelu", Ops.ACTIVATIONS), top.bool("multimodal_projector_bias", true), featureLayers,
                strategy, vision, text, modelType,
                pinpoints);
    }

    /**
     * LLaVA-NeXT's {@code image_grid_pinpoints}: (height, width) pairs, each a multiple of the
     * tower's image size (tiles are cut at that size); LlavaNextConfig's default when omitted.
     */
    private static List<List<Integer>> pinpoints(Fields top, VisionConfig vision) {
        if (!top.has("image_grid_pinpoints")) {
            return List.of(List.of(336, 672), List.of(672, 336), List.of(672, 672), List.of(1008, 336), List.of(336, 1008));
        }
        JsonElement element = top.json.get("image_grid_pinpoints");
        String expected = "a list of (height, width) pairs, each a multiple of vision_config.image_size " + vision.imageSize();
        if (!element.isJsonArray() || element.getAsJsonArray().isEmpty() || element.getAsJsonArray().size() > 1024) {
            throw top.wrong("image_grid_pinpoints", expected);
        }
        List<List<Integer>> out = new ArrayList<>();
        for (JsonElement pair : element.getAsJsonArray()) {
            if (!pair.isJsonArray() || pair.getAsJsonArray().size() != 2) {
                throw top.wrong("image_grid_pinpoints", expected);
            }
            int height = top.integer(pair.getAsJsonArray().get(0), "image_grid_pinpoints", expected);
            int width = top.integer(pair.getAsJsonArray().get(1), "image_grid_pinpoints", expected);
            if (height <= 0 || width <= 0 || height % vision.imageSize() != 0 || width % vision.imageSize() != 0
                    || (long) (height / vision.imageSize()) * (width / vision.imageSize()) > 1024) {
                throw top.wrong("image_grid_pinpoints", expected + ", at most 1024 tiles");
            }
            out.add(List.of(height, width));
        }
        return List.copyOf(out);
    }

    /**
     * Qwen2-VL keeps the decoder's fields at the top level of its config (Qwen2VLConfig, v4.45),
     * with its own defaults, and its vision tower under {@code vision_config}.
     */
    private static ModelConfig qwen2Vl(Path file, JsonObject json, Fields top) {
        JsonObject textJson = json.deepCopy();
        Object[][] defaults = {{"vocab_size", 152064}, {"hidden_size", 8192}, {"intermediate_size", 29568},
            {"num_hidden_layers", 80}, {"num_attention_heads", 64}, {"num_key_value_heads", 8}, {"rms_norm_eps", 1e-5},
            {"rope_theta", 1000000.0}, {"max_position_embeddings", 32768}};
        for (Object[] entry : defaults) {
            if (!textJson.has((String) entry[0]) || textJson.get((String) entry[0]).isJsonNull()) {
                textJson.addProperty((String) entry[0], (Number) entry[1]);
            }
        }
        textJson.addProperty("model_type", "qwen2");
        TextConfig text = text(new Fields(file, "", textJson));
        if (text.mropeSection().isEmpty()) {
            throw new HeadlensException(file + ": rope_scaling.mrope_section is missing; Qwen2-VL's decoder needs it");
        }
        JsonObject visionJson = top.object("vision_config");
        Fields v = new Fields(file, "vision_config.", visionJson == null ? new JsonObject() : visionJson);
        int embed = v.positive("embed_dim", 1280);
        int heads = v.positive("num_heads", 16);
        int ratio = v.positive("mlp_ratio", 4);
        int patch = v.positive("patch_size", 14);
        int merge = v.positive("spatial_merge_size", 2);
        VisionConfig vision = new VisionConfig("qwen2_vl", embed, embed * ratio, v.positive("depth", 32), heads,
                v.positive("in_channels", 3), patch * merge, patch, v.activation("hidden_act", "quick_gelu", Ops.ACTIVATIONS),
                1e-6, v.positive("temporal_patch_size", 2), merge, v.positive("hidden_size", 3584));
        if (embed % heads != 0 || (embed / heads) % 4 != 0) {
            throw v.contradiction("embed_dim " + embed + " over num_heads " + heads
                    + " must give a head width divisible by 4 (2-D rotary embeddings rotate rows and columns)");
        }
        if (vision.outputSize() != text.hiddenSize()) {
            throw v.contradiction("hidden_size " + vision.outputSize() + " (the merger's output) differs from the decoder's hidden_size "
                    + text.hiddenSize());
        }
        return new ModelConfig(top.integer("image_token_id", 151655), "gelu", true, new int[] {-1}, "full", vision, text, "qwen2_vl",
                List.of());
    }

    /**
     * @return number of image tokens one image becomes in the decoder, for a family whose image
     *     size is fixed (LLaVA-1.5); the others depend on the image ({@link Family#imageTokens})
     */
    public int imageTokens() {
        if (!family.equals("llava")) {
            throw new HeadlensException(family + " models take a number of image tokens that depends on the image's size");
        }
        return strategyDropsFirst() ? vision.tokens() - 1 : vision.tokens();
    }

    /** @return true when the first vision token (CLIP's CLS) is dropped */
    public boolean strategyDropsFirst() {
        return visionFeatureSelectStrategy.equals("default");
    }

    // LlavaConfig builds this CLIP config when vision_config is absent (the LLaVA-1.5 tower).
    private static VisionConfig llavaDefaultVision() {
        return new VisionConfig("clip_vision_model", 1024, 4096, 24, 16, 3, 336, 14, "quick_gelu", 1e-5, 1, 1, 0);
    }

    private static VisionConfig vision(Fields f) {
        String type = f.string("model_type", "clip_vision_model");
        if (!LLAVA_VISION.contains(type)) {
            throw new HeadlensException(f.file + ": vision_config.model_type '" + type
                    + "' is not supported in a LLaVA model; supported: " + LLAVA_VISION);
        }
        boolean clip = type.equals("clip_vision_model");
        VisionConfig config = new VisionConfig(type,
                f.positive("hidden_size", 768),
                f.positive("intermediate_size", 3072),
                f.positive("num_hidden_layers", 12),
                f.positive("num_attention_heads", 12),
                f.positive("num_channels", 3),
                f.positive("image_size", 224),
                f.positive("patch_size", clip ? 32 : 16),
                f.activation("hidden_act", clip ? "quick_gelu" : "gelu_pytorch_tanh", Ops.ACTIVATIONS),
                f.epsilon("layer_norm_eps", clip ? 1e-5 : 1e-6), 1, 1, 0);
        if (config.hiddenSize() % config.heads() != 0) {
            throw f.contradiction("hidden_size " + config.hiddenSize() + " is not a multiple of num_attention_heads " + config.heads());
        }
        if (config.imageSize() % config.patchSize() != 0) {
            throw f.contradiction("image_size " + config.imageSize() + " is not a multiple of patch_size " + config.patchSize());
        }
        long side = config.patchesPerSide();
        if (side * side + 1 > MAX_IMAGE_TOKENS) {
            throw f.contradiction("image_size " + config.imageSize() + " and patch_size " + config.patchSize() + " make "
                    + side * side + " patches, more than the " + MAX_IMAGE_TOKENS + " any vision tower uses");
        }
        return config;
    }

    private static TextConfig text(Fields f) {
        String type = f.string("model_type", "llama");
        if (!SUPPORTED_TEXT.contains(type)) {
            throw new HeadlensException(f.file + ": text_config.model_type '" + type
                    + "' is not supported; supported: " + SUPPORTED_TEXT);
        }
        boolean qwen = type.equals("qwen2");
        // Mistral is LLaMA's graph with its own defaults and a sliding attention window
        boolean mistral = type.equals("mistral");
        int hidden = f.positive("hidden_size", 4096);
        int heads = f.positive("num_attention_heads", 32);
        int kvHeads = f.positive("num_key_value_heads", qwen ? 32 : mistral ? 8 : heads);
        int headDim = f.positive("head_dim", hidden / heads);
        if (!f.has("head_dim") && hidden % heads != 0) {
            throw f.contradiction("hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw f.contradiction("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        if (headDim % 2 != 0) {
            throw f.wrong("head_dim", "an even number (rotary embeddings rotate pairs of dimensions)");
        }
        // the decoder's MLP is LLaMA's gated SiLU; transformers also calls SiLU "swish"
        f.activation("hidden_act", "silu", List.of("silu", "swish"));
        double linearFactor = 1.0;
        List<Integer> mropeSection = List.of();
        JsonObject scalingJson = f.object("rope_scaling");
        if (scalingJson != null) {
            Fields scaling = new Fields(f.file, f.prefix + "rope_scaling.", scalingJson);
            String kind = scaling.string("rope_type", scaling.string("type", "default"));
            if (scaling.has("mrope_section")) {
                mropeSection = mropeSection(scaling, headDim);
            }
            if (kind.equals("mrope")) {
                // Qwen2VLConfig rewrites 'mrope' to 'default'; the section is what matters
                if (mropeSection.isEmpty()) {
                    throw scaling.wrong("type", "'mrope' together with an mrope_section");
                }
            } else if (kind.equals("linear")) {
                linearFactor = scaling.positiveNumber("factor", Double.NaN);
            } else if (!kind.equals("default")) {
                throw f.contradiction("rope_scaling type '" + Fields.shorten(kind) + "' is not supported (supported: none, linear)");
            }
        }
        return new TextConfig(type,
                f.positive("vocab_size", qwen ? 151936 : 32000),
                hidden,
                f.positive("intermediate_size", qwen ? 22016 : mistral ? 14336 : 11008),
                f.positive("num_hidden_layers", 32),
                heads, kvHeads, headDim,
                f.epsilon("rms_norm_eps", 1e-6),
                f.positiveNumber("rope_theta", 10000.0),
                linearFactor,
                qwen || f.bool("attention_bias", false),
                f.bool("tie_word_embeddings", false),
                f.positive("max_position_embeddings", qwen ? 32768 : mistral ? 4096 * 32 : 2048),
                mropeSection,
                // null turns the window off (Mistral-7B v0.2, which LLaVA-NeXT's Mistral model uses); omitted is 4096
                mistral && !f.isNull("sliding_window") ? f.positive("sliding_window", 4096) : 0);
    }

    /** Three positive counts (t, h, w) that add up to half the head width. */
    private static List<Integer> mropeSection(Fields scaling, int headDim) {
        JsonElement element = scaling.json.get("mrope_section");
        if (!element.isJsonArray() || element.getAsJsonArray().size() != 3) {
            throw scaling.wrong("mrope_section", "three frequency counts (temporal, height, width)");
        }
        int[] section = new int[3];
        int sum = 0;
        for (int i = 0; i < 3; i++) {
            section[i] = scaling.integer(element.getAsJsonArray().get(i), "mrope_section", "three non-negative integers");
            if (section[i] < 0) {
                throw scaling.wrong("mrope_section", "three non-negative integers");
            }
            sum += section[i];
        }
        if (sum != headDim / 2) {
            throw scaling.wrong("mrope_section", "counts that add up to half the head width (" + headDim / 2 + ")");
        }
        return List.of(section[0], section[1], section[2]);
    }

    /** Typed access to one JSON object with file-and-field error messages. */
    private static final class Fields {
        final Path file;
        final String prefix;
        final JsonObject json;

        Fields(Path file, String prefix, JsonObject json) {
            this.file = file;
            this.prefix = prefix;
            this.json = json;
        }

        boolean has(String key) {
            return json.has(key) && !json.get(key).isJsonNull();
        }

        /** @return whether the key is there with the value null, which some configs use for "off" */
        boolean isNull(String key) {
            return json.has(key) && json.get(key).isJsonNull();
        }

        JsonObject object(String key) {
            if (!has(key)) {
                return null;
            }
            if (!json.get(key).isJsonObject()) {
                throw wrong(key, "an object");
            }
            return json.getAsJsonObject(key);
        }

        String string(String key, String fallback) {
            if (!has(key)) {
                return fallback;
            }
            JsonElement element = json.get(key);
            if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isString()) {
                throw wrong(key, "a string");
            }
            return element.getAsString();
        }

        int integer(String key, int fallback) {
            if (!has(key)) {
                return fallback;
            }
            return integer(json.get(key), key, "an integer");
        }

        /** A whole number in int range, given as a JSON number (a quoted "12" is refused too). */
        int integer(JsonElement element, String key, String expected) {
            if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isNumber()) {
                throw wrong(key, expected);
            }
            double value = element.getAsDouble();
            if (value != Math.rint(value) || Math.abs(value) > Integer.MAX_VALUE) {
                throw wrong(key, expected);
            }
            return (int) value;
        }

        int positive(String key, int fallback) {
            int value = integer(key, fallback);
            if (value <= 0) {
                throw wrong(key, "a positive integer");
            }
            return value;
        }

        /**
         * A positive finite number. Epsilons, RoPE's base and its scaling factor are divided by,
         * square-rooted or raised to powers: 0, a negative value, NaN or infinity (which Python's
         * json writes as NaN and Infinity) would make every activation NaN.
         */
        double positiveNumber(String key, double fallback) {
            if (!has(key)) {
                if (Double.isNaN(fallback)) {
                    throw new HeadlensException(file + ": " + prefix + key + " is missing");
                }
                return fallback;
            }
            JsonElement element = json.get(key);
            double value;
            try {
                value = element.getAsDouble();
            } catch (RuntimeException e) {
                throw wrong(key, "a positive finite number");
            }
            boolean number = element.isJsonPrimitive() && (element.getAsJsonPrimitive().isNumber()
                    || List.of("NaN", "Infinity", "-Infinity").contains(element.getAsString()));
            if (!number || !Double.isFinite(value) || value <= 0) {
                throw wrong(key, "a positive finite number");
            }
            return value;
        }

        /**
         * A normalisation epsilon: positive and finite also in float32, where it is added (one
         * that rounds to 0 lets a zero vector divide by zero; one beyond float32's range is infinite).
         */
        double epsilon(String key, double fallback) {
            double value = positiveNumber(key, fallback);
            if (!Float.isFinite((float) value) || (float) value == 0) {
                throw wrong(key, "a positive number that float32 can hold");
            }
            return value;
        }

        /** An activation name from {@code supported}. */
        String activation(String key, String fallback, List<String> supported) {
            String name = string(key, fallback);
            if (!supported.contains(name)) {
                throw new HeadlensException(file + ": " + prefix + key + " '" + shorten(name) + "' is not a supported activation (supported: "
                        + String.join(", ", supported) + ")");
            }
            return name;
        }

        boolean bool(String key, boolean fallback) {
            if (!has(key)) {
                return fallback;
            }
            JsonElement element = json.get(key);
            if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isBoolean()) {
                throw wrong(key, "true or false");
            }
            return element.getAsBoolean();
        }

        HeadlensException wrong(String key, String expected) {
            JsonElement value = json.get(key);
            // Python's json writes non-finite floats as bare NaN and Infinity; show them so
            boolean special = value.isJsonPrimitive() && List.of("NaN", "Infinity", "-Infinity").contains(value.getAsString());
            return new HeadlensException(file + ": " + prefix + key + " is " + (special ? value.getAsString() : shorten(String.valueOf(value)))
                    + ", expected " + expected);
        }

        /** A value for a one-line message: control characters replaced, cut when long. */
        static String shorten(String text) {
            String line = text.replaceAll("\\p{Cntrl}", "?");
            return line.length() <= 80 ? line : line.substring(0, 80) + "...";
        }

        HeadlensException contradiction(String what) {
            return new HeadlensException(file + ": " + prefix.replaceAll("\\.$", "") + ": " + what);
        }
    }

    /** @return a short description such as "llava: clip_vision_model 2x32 -> llama 3x64 (4 heads, 2 kv)" */
    public String describe() {
        List<String> parts = new ArrayList<>();
        parts.add(vision.modelType() + " " + vision.layers() + " layers x " + vision.hiddenSize());
        parts.add(text.modelType() + " " + text.layers() + " layers x " + text.hiddenSize()
                + " (" + text.heads() + " heads, " + text.keyValueHeads() + " key/value heads)");
        return String.join(" -> ", parts) + ", " + (family.equals("llava") ? imageTokens() + " image tokens" : family + ", image tokens by image size");
    }
}
