package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The layouts {@code make-model} writes, checked for every layer of the full releases without
 * writing their data: the shard headers are written to sparse files (a few kilobytes on disk) and
 * read back by the loader's own validation, and the model's graph is built on the declared names
 * and shapes. Published facts of the releases (parameter counts, shard sizes as the Hub lists
 * them) pin the layouts down.
 */
class ReleaseLayoutTest {
    /**
     * Published facts: total parameters, and shard sizes in GB as the Hugging Face file list shows
     * them (null where not checked).
     */
    private static final Map<String, Object[]> PUBLISHED = Map.of(
            "llava-1.5-7b", new Object[] {7_063_427_072L, new double[] {4.99, 4.96, 4.18}},
            "llava-1.5-13b", new Object[] {13_351_494_656L, null},
            "llava-next-7b", new Object[] {7_063_431_168L, null},
            "qwen2-vl-7b", new Object[] {8_291_375_616L, new double[] {3.90, 3.86, 3.86, 3.86, 1.09}});

    @ParameterizedTest
    @ValueSource(strings = {"llava-1.5-7b", "llava-1.5-13b", "llava-next-7b", "qwen2-vl-7b"})
    void everyLayerHasThePublishedNamesShapesAndShards(String name, @TempDir Path dir) throws Exception {
        Release release = Release.named(name);
        CheckpointWriter.Layout layout = CheckpointWriter.plan(release, release.publishedDtype(), 0, 0);
        assertEquals(release.configText(), layout.config(), "the whole release keeps the published config.json byte for byte");
        Object[] published = PUBLISHED.get(name);
        assertEquals((long) published[0], layout.parameterCount(), "parameters");
        double[] shardGigabytes = (double[]) published[1];
        List<Long> shardBytes = new ArrayList<>();
        for (List<Release.Parameter> shard : layout.shards()) {
            shardBytes.add(shard.stream().mapToLong(p -> p.size() * 2).sum());
            assertTrue(shardBytes.get(shardBytes.size() - 1) <= release.maxShardBytes(), "no shard exceeds max_shard_size");
        }
        if (shardGigabytes != null) {
            assertEquals(shardGigabytes.length, shardBytes.size(), "shards");
            for (int i = 0; i < shardGigabytes.length; i++) {
                assertEquals(String.format(Locale.ROOT, "%.2f", shardGigabytes[i]), String.format(Locale.ROOT, "%.2f", shardBytes.get(i) / 1e9),
                        "shard " + (i + 1));
            }
        }
        assertEquals(shardBytes.stream().mapToLong(Long::longValue).sum(), layout.totalBytes());
        assertTrue(layout.indexText().contains("\"total_size\": " + layout.totalBytes()), "index metadata");

        // the headers, on sparse files of the full size, pass the loader's own validation
        Map<String, long[]> declared = new LinkedHashMap<>();
        for (int i = 0; i < layout.shards().size(); i++) {
            Path file = dir.resolve(layout.shardNames().get(i));
            var header = CheckpointWriter.header(layout.shards().get(i), layout.dtype());
            try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
                byte[] length = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.getKey().length).array();
                out.write(length);
                out.write(header.getKey());
                out.setLength(8L + header.getKey().length + shardBytes.get(i));
            }
            SafeTensors index = SafeTensors.open(file);
            assertEquals(layout.shards().get(i).size(), index.entries().size());
            for (Release.Parameter parameter : layout.shards().get(i)) {
                SafeTensors.Entry entry = index.entries().get(parameter.name());
                assertEquals(layout.dtype(), entry.dtype(), parameter.name());
                assertArrayEquals(parameter.shape(), entry.shape(), parameter.name());
                declared.put(Weights.canonicalName(parameter.name()), parameter.shape());
            }
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), layout.indexText());
        Files.writeString(dir.resolve("config.json"), layout.config());
        assertEquals(new TreeSet<>(layout.shardNames()), new TreeSet<>(Weights.safetensorsFiles(dir).stream().map(p -> p.getFileName().toString()).toList()),
                "the index names exactly the shards");

        // what a 24 GB machine with 22 GB available holds: 7B in float16 (also widened per step), never 13B
        List<SafeTensors> headers = new ArrayList<>();
        for (Path file : Weights.safetensorsFiles(dir)) {
            headers.add(SafeTensors.open(file));
        }
        long available = 22_000_000_000L;
        if (name.equals("llava-1.5-13b")) {
            HeadlensException refused = assertThrows(HeadlensException.class,
                    () -> Weights.requireMemory(dir, headers, ai.djl.ndarray.types.DataType.FLOAT16, ai.djl.ndarray.types.DataType.FLOAT16, available));
            assertTrue(refused.getMessage().contains("holding its weights in float16 needs 27.8 GB (26.7 GB of weights and 1.1 GB to work in),"
                    + " but only 22.0 GB of memory is available"), refused.getMessage());
            assertTrue(refused.getMessage().contains("does not stream layers from disk"), refused.getMessage());
        } else {
            Weights.requireMemory(dir, headers, ai.djl.ndarray.types.DataType.FLOAT16, ai.djl.ndarray.types.DataType.FLOAT32, available);
            HeadlensException refused = assertThrows(HeadlensException.class,
                    () -> Weights.requireMemory(dir, headers, ai.djl.ndarray.types.DataType.FLOAT32, ai.djl.ndarray.types.DataType.FLOAT32, available));
            assertTrue(refused.getMessage().contains("load it with --dtype float16 --compute float32"), refused.getMessage());
        }

        // the graph finds every parameter it reads, with its shape, in every layer
        ModelConfig config = ModelConfig.read(dir);
        try (NDManager manager = NDManager.newBaseManager()) {
            Weights weights = Weights.declared(dir, manager, declared);
            Lvlm model = Lvlm.assemble(config, weights);
            assertEquals(release.config().text().layers(), model.languageModel().layers().size());
            Set<String> unread = new TreeSet<>(declared.keySet());
            unread.removeAll(weights.tensors().keySet());
            // the graph checks the shape of every parameter, those it never reads (CLIP's post_layernorm) included
            assertEquals(Set.of(), unread, "parameters of the release that the graph does not know");
        }
    }

    @Test
    void aMissingOrMisshapenParameterIsFound(@TempDir Path dir) {
        Release release = Release.named("llava-1.5-7b");
        ModelConfig config = release.config();
        Map<String, long[]> declared = new LinkedHashMap<>();
        for (Release.Parameter parameter : Release.parameters(config)) {
            declared.put(Weights.canonicalName(parameter.name()), parameter.shape());
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, long[]> missing = new LinkedHashMap<>(declared);
            missing.remove("language_model.model.layers.31.mlp.down_proj.weight");
            HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.assemble(config, Weights.declared(dir, manager, missing)));
            assertTrue(e.getMessage().contains("'language_model.model.layers.31.mlp.down_proj.weight' is missing"), e.getMessage());
            Map<String, long[]> misshapen = new LinkedHashMap<>(declared);
            misshapen.put("language_model.model.layers.17.self_attn.k_proj.weight", new long[] {4096, 4095});
            e = assertThrows(HeadlensException.class, () -> Lvlm.assemble(config, Weights.declared(dir, manager, misshapen)));
            assertTrue(e.getMessage().contains("layers.17.self_attn.k_proj.weight' has shape (4096, 4095)"), e.getMessage());
        }
    }

    @Test
    void aSliceKeepsThePublishedConfigButTheLayerCountsAndTheSameTensors() {
        Release release = Release.named("llava-1.5-7b");
        CheckpointWriter.Layout whole = CheckpointWriter.plan(release, "float16", 0, 0);
        CheckpointWriter.Layout slice = CheckpointWriter.plan(release, "float16", 2, 0);
        var published = Release.object(release.configText());
        var sliced = Release.object(slice.config());
        assertEquals(2, sliced.getAsJsonObject("text_config").get("num_hidden_layers").getAsInt());
        assertEquals(2, sliced.getAsJsonObject("vision_config").get("num_hidden_layers").getAsInt());
        sliced.getAsJsonObject("text_config").remove("num_hidden_layers");
        sliced.getAsJsonObject("vision_config").addProperty("num_hidden_layers", 24);
        assertEquals(published, sliced, "only the layer counts differ");
        Map<String, String> shapes = new LinkedHashMap<>();
        whole.shards().stream().flatMap(List::stream).forEach(p -> shapes.put(p.name(), java.util.Arrays.toString(p.shape())));
        List<Release.Parameter> kept = slice.shards().stream().flatMap(List::stream).toList();
        assertEquals(64, kept.size());
        for (Release.Parameter parameter : kept) {
            assertEquals(shapes.get(parameter.name()), java.util.Arrays.toString(parameter.shape()), parameter.name());
        }
        assertEquals(List.of("model.safetensors"), slice.shardNames(), "one shard below 5 GB, as save_pretrained writes it");
        CheckpointWriter.Layout bfloat = CheckpointWriter.plan(Release.named("qwen2-vl-7b"), "float16", 2, 1_000_000_000L);
        assertTrue(bfloat.shardNames().size() > 1 && bfloat.shardNames().get(0).equals("model-00001-of-0000" + bfloat.shardNames().size()
                + ".safetensors"), bfloat.shardNames().toString());
        assertTrue(bfloat.config().contains("\"torch_dtype\": \"float16\""), "the config says the dtype written");
    }
}
