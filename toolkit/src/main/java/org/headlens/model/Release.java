package org.headlens.model;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.headlens.HeadlensException;

/**
 * A public checkpoint whose layout headlens can reproduce with random weights: its
 * {@code config.json} as published, and the parameters its {@code state_dict} holds, in the order
 * transformers saves them, sharded as {@code save_pretrained} shards them (a new shard whenever
 * the next tensor would take the current one past the release's maximum shard size).
 *
 * @param name the name {@code make-model --like} takes
 * @param hubId the Hugging Face repository of the release
 * @param maxShardBytes the {@code max_shard_size} the release was saved with
 */
public record Release(String name, String hubId, long maxShardBytes) {
    /** The releases {@code make-model --like} knows, by name. */
    public static final List<Release> ALL = List.of(
            new Release("llava-1.5-7b", "llava-hf/llava-1.5-7b-hf", 5_000_000_000L),
            new Release("llava-1.5-13b", "llava-hf/llava-1.5-13b-hf", 5_000_000_000L),
            new Release("llava-next-7b", "llava-hf/llava-v1.6-vicuna-7b-hf", 5_000_000_000L),
            new Release("qwen2-vl-7b", "Qwen/Qwen2-VL-7B-Instruct", 4_000_000_000L));

    /**
     * One parameter of a checkpoint.
     *
     * @param name its name in the checkpoint
     * @param shape its shape
     */
    public record Parameter(String name, long[] shape) {
        /** @return number of elements */
        public long size() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        @Override
        public String toString() {
            return name + java.util.Arrays.toString(shape);
        }
    }

    /**
     * @param name a release name, e.g. {@code llava-1.5-7b}
     * @return the release
     */
    public static Release named(String name) {
        for (Release release : ALL) {
            if (release.name.equals(name)) {
                return release;
            }
        }
        throw new HeadlensException("unknown release '" + name + "'; known: "
                + ALL.stream().map(Release::name).collect(Collectors.joining(", ")));
    }

    /** @return the release's config.json, exactly as published */
    public String configText() {
        String resource = "releases/" + name + ".json";
        try (InputStream in = Release.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("resource " + resource + " is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource " + resource, e);
        }
    }

    /** @return the parsed config of the whole release */
    public ModelConfig config() {
        return ModelConfig.parse(Path.of(name + "/config.json"), object(configText()));
    }

    /**
     * The config.json of a slice that keeps the first {@code layers} decoder layers and the first
     * {@code layers} vision layers: the published one with only the layer counts changed.
     *
     * @param layers layers kept, or 0 for the whole release
     * @param torchDtype the {@code torch_dtype} written, or null to keep the published one
     * @return the JSON text
     */
    public String configText(int layers, String torchDtype) {
        String published = configText();
        if (layers <= 0 && (torchDtype == null || torchDtype.equals(publishedDtype()))) {
            return published;
        }
        JsonObject json = object(published);
        ModelConfig whole = config();
        if (layers > 0) {
            if (whole.family().equals("qwen2_vl")) {
                json.addProperty("num_hidden_layers", Math.min(layers, whole.text().layers()));
                json.getAsJsonObject("vision_config").addProperty("depth", Math.min(layers, whole.vision().layers()));
            } else {
                json.getAsJsonObject("text_config").addProperty("num_hidden_layers", Math.min(layers, whole.text().layers()));
                json.getAsJsonObject("vision_config").addProperty("num_hidden_layers", Math.min(layers, whole.vision().layers()));
            }
        }
        if (torchDtype != null) {
            json.addProperty("torch_dtype", torchDtype);
            if (json.has("text_config") && json.getAsJsonObject("text_config").has("torch_dtype")) {
                json.getAsJsonObject("text_config").addProperty("torch_dtype", torchDtype);
            }
        }
        return new com.google.gson.GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(json) + "\n";
    }

    /**
     * @param text JSON text that headlens itself wrote or ships
     * @return the parsed object
     */
    static JsonObject object(String text) {
        try {
            return JsonFiles.parse(text).getAsJsonObject();
        } catch (JsonFiles.Malformed e) {
            throw new IllegalStateException("a shipped config is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** @return the {@code torch_dtype} of the published config, e.g. {@code float16} */
    public String publishedDtype() {
        return object(configText()).get("torch_dtype").getAsString().toLowerCase(Locale.ROOT);
    }

    /**
     * Every parameter of the checkpoint described by {@code config}, in the order of the
     * model's {@code state_dict} (a module's own parameters before its children's, children in
     * the order they are created), which decides how the tensors fall into shards.
     *
     * @param config a config of this release's family
     * @return the parameters
     */
    public static List<Parameter> parameters(ModelConfig config) {
        List<Parameter> list = new ArrayList<>();
        ModelConfig.TextConfig text = config.text();
        ModelConfig.VisionConfig vision = config.vision();
        if (config.family().equals("qwen2_vl")) {
            qwen2VisionParameters(list, vision, text);
            decoderParameters(list, "model.", text);
            list.add(new Parameter("lm_head.weight", new long[] {text.vocabSize(), text.hiddenSize()}));
            return list;
        }
        if (config.family().equals("llava_next")) {
            list.add(new Parameter("image_newline", new long[] {text.hiddenSize()}));
        }
        clipParameters(list, vision);
        long in = (long) vision.hiddenSize() * config.visionFeatureLayers().length;
        String p = "multi_modal_projector.";
        for (int linear = 1; linear <= 2; linear++) {
            list.add(new Parameter(p + "linear_" + linear + ".weight", new long[] {text.hiddenSize(), linear == 1 ? in : text.hiddenSize()}));
            if (config.projectorBias()) {
                list.add(new Parameter(p + "linear_" + linear + ".bias", new long[] {text.hiddenSize()}));
            }
        }
        decoderParameters(list, "language_model.model.", text);
        list.add(new Parameter("language_model.lm_head.weight", new long[] {text.vocabSize(), text.hiddenSize()}));
        return list;
    }

    private static void clipParameters(List<Parameter> list, ModelConfig.VisionConfig vision) {
        String p = "vision_tower.vision_model.";
        long d = vision.hiddenSize();
        long inner = vision.intermediateSize();
        list.add(new Parameter(p + "embeddings.class_embedding", new long[] {d}));
        list.add(new Parameter(p + "embeddings.patch_embedding.weight", new long[] {d, vision.channels(), vision.patchSize(), vision.patchSize()}));
        list.add(new Parameter(p + "embeddings.position_embedding.weight", new long[] {vision.tokens(), d}));
        list.add(new Parameter(p + "pre_layrnorm.weight", new long[] {d}));
        list.add(new Parameter(p + "pre_layrnorm.bias", new long[] {d}));
        for (int i = 0; i < vision.layers(); i++) {
            String l = p + "encoder.layers." + i + ".";
            // CLIPAttention creates k, v, q, then out
            for (String projection : new String[] {"k_proj", "v_proj", "q_proj", "out_proj"}) {
                list.add(new Parameter(l + "self_attn." + projection + ".weight", new long[] {d, d}));
                list.add(new Parameter(l + "self_attn." + projection + ".bias", new long[] {d}));
            }
            list.add(new Parameter(l + "layer_norm1.weight", new long[] {d}));
            list.add(new Parameter(l + "layer_norm1.bias", new long[] {d}));
            list.add(new Parameter(l + "mlp.fc1.weight", new long[] {inner, d}));
            list.add(new Parameter(l + "mlp.fc1.bias", new long[] {inner}));
            list.add(new Parameter(l + "mlp.fc2.weight", new long[] {d, inner}));
            list.add(new Parameter(l + "mlp.fc2.bias", new long[] {d}));
            list.add(new Parameter(l + "layer_norm2.weight", new long[] {d}));
            list.add(new Parameter(l + "layer_norm2.bias", new long[] {d}));
        }
        list.add(new Parameter(p + "post_layernorm.weight", new long[] {d}));
        list.add(new Parameter(p + "post_layernorm.bias", new long[] {d}));
    }

    private static void qwen2VisionParameters(List<Parameter> list, ModelConfig.VisionConfig vision, ModelConfig.TextConfig text) {
        String p = "visual.";
        long d = vision.hiddenSize();
        long inner = vision.intermediateSize();
        long merged = d * vision.spatialMergeSize() * vision.spatialMergeSize();
        list.add(new Parameter(p + "patch_embed.proj.weight",
                new long[] {d, vision.channels(), vision.temporalPatchSize(), vision.patchSize(), vision.patchSize()}));
        for (int i = 0; i < vision.layers(); i++) {
            String b = p + "blocks." + i + ".";
            list.add(new Parameter(b + "norm1.weight", new long[] {d}));
            list.add(new Parameter(b + "norm1.bias", new long[] {d}));
            list.add(new Parameter(b + "norm2.weight", new long[] {d}));
            list.add(new Parameter(b + "norm2.bias", new long[] {d}));
            list.add(new Parameter(b + "attn.qkv.weight", new long[] {3 * d, d}));
            list.add(new Parameter(b + "attn.qkv.bias", new long[] {3 * d}));
            list.add(new Parameter(b + "attn.proj.weight", new long[] {d, d}));
            list.add(new Parameter(b + "attn.proj.bias", new long[] {d}));
            list.add(new Parameter(b + "mlp.fc1.weight", new long[] {inner, d}));
            list.add(new Parameter(b + "mlp.fc1.bias", new long[] {inner}));
            list.add(new Parameter(b + "mlp.fc2.weight", new long[] {d, inner}));
            list.add(new Parameter(b + "mlp.fc2.bias", new long[] {d}));
        }
        list.add(new Parameter(p + "merger.ln_q.weight", new long[] {d}));
        list.add(new Parameter(p + "merger.ln_q.bias", new long[] {d}));
        list.add(new Parameter(p + "merger.mlp.0.weight", new long[] {merged, merged}));
        list.add(new Parameter(p + "merger.mlp.0.bias", new long[] {merged}));
        list.add(new Parameter(p + "merger.mlp.2.weight", new long[] {text.hiddenSize(), merged}));
        list.add(new Parameter(p + "merger.mlp.2.bias", new long[] {text.hiddenSize()}));
    }

    private static void decoderParameters(List<Parameter> list, String prefix, ModelConfig.TextConfig text) {
        long d = text.hiddenSize();
        long q = (long) text.heads() * text.headDim();
        long kv = (long) text.keyValueHeads() * text.headDim();
        long inner = text.intermediateSize();
        list.add(new Parameter(prefix + "embed_tokens.weight", new long[] {text.vocabSize(), d}));
        for (int i = 0; i < text.layers(); i++) {
            String l = prefix + "layers." + i + ".";
            list.add(new Parameter(l + "self_attn.q_proj.weight", new long[] {q, d}));
            if (text.attentionBias()) {
                list.add(new Parameter(l + "self_attn.q_proj.bias", new long[] {q}));
            }
            list.add(new Parameter(l + "self_attn.k_proj.weight", new long[] {kv, d}));
            if (text.attentionBias()) {
                list.add(new Parameter(l + "self_attn.k_proj.bias", new long[] {kv}));
            }
            list.add(new Parameter(l + "self_attn.v_proj.weight", new long[] {kv, d}));
            if (text.attentionBias()) {
                list.add(new Parameter(l + "self_attn.v_proj.bias", new long[] {kv}));
            }
            list.add(new Parameter(l + "self_attn.o_proj.weight", new long[] {d, q}));
            list.add(new Parameter(l + "mlp.gate_proj.weight", new long[] {inner, d}));
            list.add(new Parameter(l + "mlp.up_proj.weight", new long[] {inner, d}));
            list.add(new Parameter(l + "mlp.down_proj.weight", new long[] {d, inner}));
            list.add(new Parameter(l + "input_layernorm.weight", new long[] {d}));
            list.add(new Parameter(l + "post_attention_layernorm.weight", new long[] {d}));
        }
        list.add(new Parameter(prefix + "norm.weight", new long[] {d}));
    }

    /**
     * How {@code save_pretrained} splits parameters into shards: in order, starting a new shard
     * whenever the next tensor would take the current one past {@code maxShardBytes} (a tensor
     * larger than that gets a shard of its own).
     *
     * @param parameters in state_dict order
     * @param bytesPerElement element size of the saved dtype
     * @param maxShardBytes largest shard
     * @return the shards, each a list of parameters
     */
    public static List<List<Parameter>> shards(List<Parameter> parameters, int bytesPerElement, long maxShardBytes) {
        List<List<Parameter>> shards = new ArrayList<>();
        List<Parameter> current = new ArrayList<>();
        long size = 0;
        for (Parameter parameter : parameters) {
            long bytes = parameter.size() * bytesPerElement;
            if (!current.isEmpty() && size + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(parameter);
            size += bytes;
        }
        if (!current.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    /**
     * @param index shard number from 1
     * @param count number of shards
     * @return e.g. {@code model-00001-of-00003.safetensors}; {@code model.safetensors} for a single shard
     */
    public static String shardName(int index, int count) {
        return count == 1 ? "model.safetensors" : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", index, count);
    }

    /**
     * The weight map of {@code model.safetensors.index.json}: every parameter name, sorted, with
     * its shard's file name.
     *
     * @param shards the shards
     * @return name to file
     */
    public static Map<String, String> weightMap(List<List<Parameter>> shards) {
        Map<String, String> map = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            for (Parameter parameter : shards.get(i)) {
                map.put(parameter.name(), shardName(i + 1, shards.size()));
            }
        }
        return map;
    }
}
