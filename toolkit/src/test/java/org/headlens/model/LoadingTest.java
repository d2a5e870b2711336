package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoadingTest {
    private static final Path CLIP_LLAMA = Fixtures.model("llava-clip-llama");

    /** Copies the reference model, rewriting its weights with {@code edit}. */
    private static Path copyWith(Path dir, java.util.function.BiConsumer<NDManager, Map<String, NDArray>> edit) throws Exception {
        Files.copy(CLIP_LLAMA.resolve("config.json"), dir.resolve("config.json"));
        SafeTensors source = SafeTensors.open(CLIP_LLAMA.resolve("model.safetensors"));
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : source.entries().keySet()) {
                tensors.put(name, source.read(name, manager));
            }
            edit.accept(manager, tensors);
            if (!tensors.isEmpty()) {
                SafeTensors.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            }
        }
        return dir;
    }

    private static float[] finalLogits(Lvlm model) {
        try (NDManager manager = NDManager.newBaseManager()) {
            SafeTensors fixtures = SafeTensors.open(CLIP_LLAMA.resolve("fixtures.safetensors"));
            long[] ids = fixtures.read("input_ids", manager).toLongArray();
            try (ForwardResult result = ForwardPass.run(model, ids, fixtures.read("pixel_values", manager))) {
                return result.finalLogits();
            }
        }
    }

    private static float[] referenceFinalLogits() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SafeTensors fixtures = SafeTensors.open(CLIP_LLAMA.resolve("fixtures.safetensors"));
            return fixtures.read("logits", manager).get(":, -1, :").toFloatArray();
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    @Test
    void aClosedModelIsRefusedByNameInsteadOfFailingInNativeCode() {
        Lvlm model = Lvlm.load(ModelCopies.TINY);
        model.close();
        long[] ids = {1, 5, 6, 7};
        for (Runnable use : List.<Runnable>of(() -> ForwardPass.run(model, ids, null).close(), () -> model.encode("a circle"),
                () -> org.headlens.forward.Prompt.of(model, org.headlens.data.TinyModel.OBJECT_PROMPT), model::newScope)) {
            HeadlensException e = assertThrows(HeadlensException.class, use::run);
            assertEquals(ModelCopies.TINY + ": this model was closed (by close() or the end of its try block); load it again with Lvlm.load",
                    e.getMessage());
        }
        model.close(); // a second close is harmless, as AutoCloseable asks
    }

    @Test
    void aProjectorSavedWithoutBiasesLoadsWhenTheConfigSaysSo(@TempDir Path dir) throws Exception {
        List<String> biases = List.of("multi_modal_projector.linear_1.bias", "multi_modal_projector.linear_2.bias");
        Path zeroed = copyWith(Files.createDirectories(dir.resolve("zeroed")), (manager, tensors) ->
                biases.forEach(name -> tensors.put(name, tensors.get(name).zerosLike())));
        Path without = copyWith(Files.createDirectories(dir.resolve("without")), (manager, tensors) -> biases.forEach(tensors::remove));
        HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(without).close());
        assertTrue(e.getMessage().contains("multi_modal_projector.linear_1.bias"), e.getMessage());
        String config = Files.readString(without.resolve("config.json"));
        Files.writeString(without.resolve("config.json"), config.replaceFirst("\\{", "{\"multimodal_projector_bias\": false, "));
        float[] reference;
        float[] expected;
        float[] loaded;
        try (Lvlm model = Lvlm.load(CLIP_LLAMA)) {
            reference = finalLogits(model);
        }
        try (Lvlm model = Lvlm.load(zeroed)) {
            expected = finalLogits(model);
        }
        try (Lvlm model = Lvlm.load(without)) {
            assertTrue(!model.config().projectorBias());
            loaded = finalLogits(model);
        }
        assertArrayEquals(expected, loaded, "no bias computes as a zero bias");
        assertTrue(maxDiff(reference, loaded) > 1e-4, "the reference's biases change its logits, so the test sees them gone");
    }

    @Test
    void shardedCheckpointWithIndexLoadsTheSameModel(@TempDir Path dir) throws Exception {
        copyWith(dir, (manager, tensors) -> {
            Map<String, NDArray> first = new LinkedHashMap<>();
            Map<String, NDArray> second = new LinkedHashMap<>();
            StringBuilder map = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
            int i = 0;
            for (var entry : tensors.entrySet()) {
                boolean isFirst = i++ % 2 == 0;
                (isFirst ? first : second).put(entry.getKey(), entry.getValue());
                map.append(i > 1 ? "," : "").append('"').append(entry.getKey()).append("\":\"")
                        .append(isFirst ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors").append('"');
            }
            SafeTensors.write(dir.resolve("model-00001-of-00002.safetensors"), first, null);
            SafeTensors.write(dir.resolve("model-00002-of-00002.safetensors"), second, null);
            try {
                Files.writeString(dir.resolve("model.safetensors.index.json"), map.append("}}").toString());
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
            tensors.clear();
        });
        try (Lvlm model = Lvlm.load(dir)) {
            assertTrue(maxDiff(finalLogits(model), referenceFinalLogits()) < 1e-4);
        }
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(dir));
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors") && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void newerTransformersParameterNamesAreAccepted(@TempDir Path dir) throws Exception {
        copyWith(dir, (manager, tensors) -> {
            Map<String, NDArray> renamed = new LinkedHashMap<>();
            tensors.forEach((name, tensor) -> renamed.put(name
                    .replace("language_model.model.", "model.language_model.")
                    .replace("language_model.lm_head.", "lm_head.")
                    .replace("vision_tower.", "model.vision_tower.")
                    .replace("multi_modal_projector.", "model.multi_modal_projector."), tensor));
            tensors.clear();
            tensors.putAll(renamed);
        });
        try (Lvlm model = Lvlm.load(dir)) {
            assertTrue(maxDiff(finalLogits(model), referenceFinalLogits()) < 1e-4);
        }
    }

    /** Rewrites a float32 safetensors file as bfloat16 (round to nearest even), as torch saves it. */
    static void rewriteAsBfloat16(Path file) throws Exception {
        SafeTensors f32 = SafeTensors.open(file);
        byte[] bytes = Files.readAllBytes(file);
        long dataStart = bytes.length - f32.entries().values().stream().mapToLong(SafeTensors.Entry::end).max().orElse(0);
        com.google.gson.JsonObject header = new com.google.gson.JsonObject();
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (SafeTensors.Entry e : f32.entries().values()) {
            java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes, (int) (dataStart + e.begin()), (int) (e.end() - e.begin()))
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            long begin = data.size();
            while (in.hasRemaining()) {
                int bits = in.getInt();
                int rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
                data.write(rounded & 0xff);
                data.write((rounded >>> 8) & 0xff);
            }
            com.google.gson.JsonObject entry = new com.google.gson.JsonObject();
            entry.addProperty("dtype", "BF16");
            entry.add("shape", new com.google.gson.Gson().toJsonTree(e.shape()));
            entry.add("data_offsets", new com.google.gson.Gson().toJsonTree(new long[] {begin, data.size()}));
            header.add(e.name(), entry);
        }
        byte[] json = header.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(8 + json.length + data.size()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(data.toByteArray());
        Files.write(file, out.array());
    }

    @Test
    void halfPrecisionWeightsLoadAndRunInTheChosenComputeType(@TempDir Path dir) throws Exception {
        float[] reference = referenceFinalLogits();
        Path f16 = Files.createDirectories(dir.resolve("f16"));
        copyWith(f16, (manager, tensors) -> tensors.replaceAll((name, t) -> t.toType(DataType.FLOAT16, false)));
        Path bf16 = Files.createDirectories(dir.resolve("bf16"));
        copyWith(bf16, (manager, tensors) -> { });
        rewriteAsBfloat16(bf16.resolve("model.safetensors"));
        assertEquals("BF16", SafeTensors.open(bf16.resolve("model.safetensors")).entries().values().iterator().next().dtype());
        assertEquals("F16", SafeTensors.open(f16.resolve("model.safetensors")).entries().values().iterator().next().dtype());
        for (Path folder : List.of(f16, bf16)) {
            try (Lvlm model = Lvlm.load(folder)) {
                double diff = maxDiff(finalLogits(model), reference);
                // rounding the weights to 16 bits moves logits of magnitude ~4 a little, never a lot
                assertTrue(diff > 1e-6 && diff < (folder == f16 ? 0.02 : 0.15), folder + " diff " + diff);
            }
        }
        try (Lvlm model = Lvlm.load(bf16, Lvlm.LoadOptions.defaults().withComputeType(DataType.FLOAT16))) {
            assertEquals(DataType.FLOAT16, model.weights().get("language_model.model.norm.weight", 64).getDataType());
            assertTrue(maxDiff(finalLogits(model), reference) < 0.2);
        }
        HeadlensException e = assertThrows(HeadlensException.class,
                () -> Lvlm.load(f16, Lvlm.LoadOptions.defaults().withComputeType(DataType.BFLOAT16)));
        assertTrue(e.getMessage().contains("float16"), e.getMessage());
    }

    @Test
    void missingAndMisshapenTensorsAreNamed(@TempDir Path dir) throws Exception {
        Path missing = Files.createDirectories(dir.resolve("missing"));
        copyWith(missing, (manager, tensors) -> tensors.remove("language_model.model.layers.1.mlp.up_proj.weight"));
        HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(missing));
        assertTrue(e.getMessage().contains("'language_model.model.layers.1.mlp.up_proj.weight' is missing"), e.getMessage());

        Path misshapen = Files.createDirectories(dir.resolve("misshapen"));
        copyWith(misshapen, (manager, tensors) -> tensors.put("multi_modal_projector.linear_1.weight", manager.zeros(new ai.djl.ndarray.types.Shape(64, 31))));
        e = assertThrows(HeadlensException.class, () -> Lvlm.load(misshapen));
        assertTrue(e.getMessage().contains("'multi_modal_projector.linear_1.weight' has shape (64, 31)")
                && e.getMessage().contains("(64, 32)") && e.getMessage().contains("model.safetensors"), e.getMessage());
    }

    @Test
    void pickleCheckpointsAreRefusedWithTheReasonAndAConversionHint(@TempDir Path dir) throws Exception {
        for (String name : List.of("pytorch_model.bin", "model.pt", "weights.pth", "last.ckpt")) {
            Path folder = Files.createDirectories(dir.resolve(name.replace('.', '_')));
            Files.copy(CLIP_LLAMA.resolve("config.json"), folder.resolve("config.json"));
            // a file that would run code if unpickled; it must never be opened
            Files.write(folder.resolve(name), new byte[] {(byte) 0x80, 2, 'c', 'o', 's', '\n'});
            HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(folder));
            assertTrue(e.getMessage().contains(name) && e.getMessage().contains("run arbitrary code")
                    && e.getMessage().contains("safe_serialization=True"), e.getMessage());
        }
        Path indexed = Files.createDirectories(dir.resolve("indexed"));
        Files.copy(CLIP_LLAMA.resolve("config.json"), indexed.resolve("config.json"));
        Files.writeString(indexed.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"a\":\"pytorch_model-00001.bin\"}}");
        HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(indexed));
        assertTrue(e.getMessage().contains("pickle"), e.getMessage());
    }

    @Test
    void expandedAndSinglePlaceholderPromptsGiveTheSameSequence() {
        try (Lvlm model = Lvlm.load(CLIP_LLAMA); NDManager manager = NDManager.newBaseManager()) {
            SafeTensors fixtures = SafeTensors.open(CLIP_LLAMA.resolve("fixtures.safetensors"));
            var layout = org.headlens.forward.TokenLayout.of(fixtures.read("input_ids", manager).toLongArray(), model.config());
            assertArrayEquals(fixtures.read("input_ids_expanded", manager).toLongArray(), layout.decoderIds());
            assertEquals(4, layout.imageStart());
            assertEquals(16, layout.imageLength());
            long[] twoImages = {1, 127, 5, 127, 6};
            HeadlensException e = assertThrows(HeadlensException.class, () -> org.headlens.forward.TokenLayout.of(twoImages, model.config()));
            assertTrue(e.getMessage().contains("2 image placeholder"), e.getMessage());
        }
    }
}
