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
import java.util.List;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.forward.LayerEdits;
import org.headlens.forward.Pass;
import org.headlens.forward.Prompt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Weights held in float16 and widened to float32 for each step compute exactly what the same
 * float16 file loaded as float32 computes, in every family (each family reads its weights in its
 * own places), and a long run leaves no widened copy behind.
 */
class StorageTypeTest {
    /** A copy of a reference model with every floating tensor rounded to float16. */
    static Path float16Copy(String name, Path dir) {
        return ModelCopies.withWeights(Fixtures.model(name), dir, (manager, tensors) ->
                tensors.replaceAll((key, tensor) -> tensor.getDataType().isFloating() ? tensor.toType(DataType.FLOAT16, false) : tensor));
    }

    /** The final logits of the fixture prompt (with its image). */
    static float[] finalLogits(Lvlm model, String name) {
        Path fixture = Fixtures.model(name);
        try (NDManager manager = model.newScope()) {
            SafeTensors fixtures = SafeTensors.open(fixture.resolve("fixtures.safetensors"));
            long[] ids = fixtures.read("input_ids", manager).toLongArray();
            if (!Files.exists(fixture.resolve("image.png"))) {
                try (ForwardResult result = ForwardPass.run(model, ids, fixtures.read("pixel_values", manager))) {
                    return result.finalLogits();
                }
            }
            ImageInput image = model.preprocess(manager, Images.read(fixture.resolve("image.png")));
            Pass pass = Pass.full(Prompt.ofIds(model, ids, image).layout());
            try (ForwardResult result = ForwardPass.run(model, pass, image.pixels(), LayerEdits.none())) {
                return result.finalLogits();
            }
        }
    }

    private static long weightBytes(Lvlm model) {
        return model.weights().tensors().values().stream().mapToLong(t -> t.size() * t.getDataType().getNumOfBytes()).sum();
    }

    @ParameterizedTest
    @ValueSource(strings = {"llava-clip-llama", "llava-next-clip-llama", "llava-siglip-qwen2", "qwen2-vl"})
    void float16WeightsWidenedPerStepGiveTheLogitsOfTheFloat32Load(String name, @TempDir Path dir) {
        Path copy = float16Copy(name, dir.resolve("f16"));
        float[] expected;
        long float32Bytes;
        try (Lvlm model = Lvlm.load(copy)) {
            expected = finalLogits(model, name);
            float32Bytes = weightBytes(model);
        }
        try (Lvlm model = Lvlm.load(copy, Lvlm.LoadOptions.of(DataType.FLOAT16, DataType.FLOAT32))) {
            assertEquals(DataType.FLOAT16, model.storageType());
            assertEquals(DataType.FLOAT32, model.computeType());
            assertEquals(float32Bytes / 2, weightBytes(model), "the weights are held at half the float32 size");
            NDManager owner = model.weights().manager();
            int loaded = owner.getManagedArrays().size();
            float[] actual = finalLogits(model, name);
            // the decoder widens into one kept array per weight shape (Widening), and into nothing else
            java.util.Set<ai.djl.ndarray.types.Shape> shapes = model.weights().tensors().entrySet().stream()
                    .filter(e -> e.getKey().startsWith("language_model.model.layers.") && e.getValue().getShape().dimension() == 2)
                    .map(e -> e.getValue().getShape()).collect(java.util.stream.Collectors.toSet());
            shapes.add(new ai.djl.ndarray.types.Shape(model.config().text().vocabSize(), model.config().text().hiddenSize())); // the head, one block
            int held = owner.getManagedArrays().size();
            assertEquals(loaded + shapes.size(), held, "one widened array per shape of the decoder's matrices and the head's block");
            double worst = 0;
            double largest = 0;
            for (int i = 0; i < expected.length; i++) {
                worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
                largest = Math.max(largest, Math.abs(expected[i]));
            }
            System.out.printf("%s: float16 storage, float32 compute: max |difference| %.3e of logits up to %.3f%n", name, worst, largest);
            assertEquals(0, worst, largest * 1e-6, "widening float16 to float32 is exact, so the logits are the float32 load's");
            for (int i = 0; i < 5; i++) {
                finalLogits(model, name);
            }
            assertEquals(held, owner.getManagedArrays().size(), "no widened copy outlives its pass, and the kept ones are reused");
            // a pass frees everything at its end anyway; the copies must go after each step, or a
            // 7B pass would hold every weight twice, once widened
            try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
                try (NDManager work = model.newScope()) {
                    LanguageModel decoder = model.languageModel();
                    DecoderLayer layer = decoder.layers().get(0);
                    NDArray hidden = decoder.embed(work, new long[] {1, 2, 3});
                    assertEquals(DataType.FLOAT32, hidden.getDataType());
                    long[][] positions = decoder.config().mropeSection().isEmpty() ? new long[][] {{0, 1, 2}}
                            : new long[][] {{0, 1, 2}, {0, 1, 2}, {0, 1, 2}};
                    NDArray query = layer.queryKeyValue(hidden, Rope.of(work, decoder.config(), positions, DataType.FLOAT32)).query();
                    NDArray out = layer.mlp(layer.outputProjection(query));
                    assertEquals(DataType.FLOAT32, decoder.logits(decoder.finalNorm(out)).getDataType());
                }
                // the scope is still open: only copies freed step by step are gone
                assertEquals(held, owner.getManagedArrays().size(), "each widened weight is freed right after its step");
            }
        }
    }

    @Test
    void aHeadOfSeveralBlocksGivesTheSameLogitsInBothStorageTypes(@TempDir Path dir) {
        String name = "llava-clip-llama";
        float[] original;
        try (Lvlm model = Lvlm.load(float16Copy(name, dir.resolve("f16")))) {
            original = finalLogits(model, name);
        }
        // 2.5 blocks of vocabulary: the fixture's rows first, then random ones the prompt never uses
        long vocab = LanguageModel.HEAD_BLOCK_ROWS * 5 / 2;
        Path wide = ModelCopies.withWeights(Fixtures.model(name), dir.resolve("wide"), (manager, tensors) -> {
            for (String tensor : List.of("language_model.model.embed_tokens.weight", "language_model.lm_head.weight")) {
                NDArray rows = tensors.get(tensor);
                NDArray extra = manager.randomNormal(new ai.djl.ndarray.types.Shape(vocab - rows.getShape().get(0), rows.getShape().get(1)));
                tensors.put(tensor, rows.concat(extra, 0));
            }
            tensors.replaceAll((key, tensor) -> tensor.getDataType().isFloating() ? tensor.toType(DataType.FLOAT16, false) : tensor);
        });
        ModelCopies.withConfig(wide, dir.resolve("wide16"), text -> text.replaceFirst("\"vocab_size\": \\d+", "\"vocab_size\": " + vocab));
        Path folder = dir.resolve("wide16");
        float[] float32;
        try (Lvlm model = Lvlm.load(folder)) {
            float32 = finalLogits(model, name);
        }
        try (Lvlm model = Lvlm.load(folder, Lvlm.LoadOptions.of(DataType.FLOAT16, DataType.FLOAT32))) {
            assertArrayEquals(float32, finalLogits(model, name), "the same blocks in both storage types");
        }
        assertEquals(vocab, float32.length);
        // the added rows leave the fixture's own logits as they were, block boundaries or not
        for (int i = 0; i < original.length; i++) {
            assertEquals(original[i], float32[i], 1e-5 * Math.max(1, Math.abs(original[i])), "logit " + i);
        }
    }

    @Test
    void threadsSharingAWidenedModelGetTheSameLogits(@TempDir Path dir) throws Exception {
        Path copy = float16Copy("llava-clip-llama", dir.resolve("f16"));
        try (Lvlm model = Lvlm.load(copy, Lvlm.LoadOptions.of(DataType.FLOAT16, DataType.FLOAT32))) {
            float[] expected = finalLogits(model, "llava-clip-llama");
            // a Spark local[n] run shares one model between threads: each must widen into arrays of its own
            java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                List<java.util.concurrent.Future<float[]>> runs = new java.util.ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    runs.add(threads.submit(() -> finalLogits(model, "llava-clip-llama")));
                }
                for (java.util.concurrent.Future<float[]> run : runs) {
                    assertArrayEquals(expected, run.get());
                }
            } finally {
                threads.shutdownNow();
            }
        }
    }

    @Test
    void narrowerComputeThanStorageAndBfloat16AreRefused(@TempDir Path dir) {
        Path model = Fixtures.model("llava-clip-llama");
        HeadlensException e = assertThrows(HeadlensException.class,
                () -> Lvlm.load(model, Lvlm.LoadOptions.of(DataType.FLOAT32, DataType.FLOAT16)));
        assertTrue(e.getMessage().contains("cannot be computed in the narrower"), e.getMessage());
        e = assertThrows(HeadlensException.class, () -> Lvlm.load(model, Lvlm.LoadOptions.of(DataType.BFLOAT16, DataType.FLOAT32)));
        assertTrue(e.getMessage().contains("not supported"), e.getMessage());
    }

    @Test
    void loadingRefusesBeforeAllocatingWhatDoesNotFitAndNamesBothSizes() {
        Path model = Fixtures.model("llava-clip-llama");
        String previous = System.getProperty(Memory.AVAILABLE_PROPERTY);
        try {
            System.setProperty(Memory.AVAILABLE_PROPERTY, String.valueOf(1L << 20));
            HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(model));
            assertTrue(e.getMessage().startsWith(model + ": holding its weights in float32 needs 1.1 GB"), e.getMessage());
            assertTrue(e.getMessage().contains("only 0.0 GB of memory is available"), e.getMessage());
            assertTrue(e.getMessage().contains("does not stream layers from disk"), e.getMessage());
            // enough for float16 weights but not float32: the message says how to load it
            var entries = SafeTensors.open(model.resolve("model.safetensors")).entries().values();
            long weights = entries.stream().filter(entry -> Weights.FLOATING_DTYPES.contains(entry.dtype())).mapToLong(SafeTensors.Entry::size).sum();
            long largest = entries.stream().mapToLong(SafeTensors.Entry::size).max().orElseThrow();
            // the arrays kept widened: one per shape of the layers' attention and MLP matrices
            long kept = entries.stream().filter(entry -> entry.shape().length == 2 && entry.name().contains("layers.")
                    && (entry.name().contains(".mlp.") || entry.name().contains(".self_attn.")))
                    .collect(java.util.stream.Collectors.toMap(entry -> java.util.Arrays.toString(entry.shape()), SafeTensors.Entry::size, (a, b) -> a))
                    .values().stream().mapToLong(Long::longValue).sum();
            // float16 weights plus the largest one and the kept arrays widened to float32 fit; float32 weights do not
            long available = Memory.LOAD_HEADROOM_BYTES + weights * 2 + (largest + kept) * 4;
            assertTrue(available < Memory.LOAD_HEADROOM_BYTES + weights * 4);
            System.setProperty(Memory.AVAILABLE_PROPERTY, String.valueOf(available));
            e = assertThrows(HeadlensException.class, () -> Lvlm.load(model));
            assertTrue(e.getMessage().contains("--dtype float16 --compute float32"), e.getMessage());
            try (Lvlm widened = Lvlm.load(model, Lvlm.LoadOptions.of(DataType.FLOAT16, DataType.FLOAT32))) {
                assertEquals(DataType.FLOAT16, widened.storageType());
            }
        } finally {
            if (previous == null) {
                System.clearProperty(Memory.AVAILABLE_PROPERTY);
            } else {
                System.setProperty(Memory.AVAILABLE_PROPERTY, previous);
            }
        }
    }

    @Test
    void aLoadStopsInOneLineWhenOtherProcessesTakeTheMemoryItStillNeeds() {
        Path folder = Path.of("llava-7b");
        Weights.requireStillFits(folder, 4_000_000_000L, 5_000_000_000L);
        Weights.requireStillFits(folder, 4_000_000_000L, -1);
        HeadlensException e = assertThrows(HeadlensException.class, () -> Weights.requireStillFits(folder, 4_000_000_000L, 3_000_000_000L));
        assertEquals("llava-7b: stopped loading: 4.0 GB of weights are still to load but only 3.0 GB of memory is available now"
                + " (MemAvailable); other processes took memory after the load began", e.getMessage());
    }

    @Test
    void float16ConversionMatchesPyTorch() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        float[] values = new float[20000];
        for (int i = 0; i < values.length; i++) {
            // normal, subnormal, overflowing and tie-heavy values
            double scale = Math.pow(2, random.nextInt(-30, 20));
            values[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        values[0] = 65520f;
        values[1] = -0f;
        values[2] = 1f + 1f / 2048;
        values[3] = 5.9604645e-8f / 2;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray halves = manager.create(values).toType(DataType.FLOAT16, false);
            NDArray bits = halves.toType(DataType.FLOAT32, false);
            float[] expected = bits.toFloatArray();
            for (int i = 0; i < values.length; i++) {
                assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(halfToFloat(CheckpointWriter.toFloat16(values[i]))),
                        "float16 of " + values[i]);
            }
        }
    }

    /** Decodes float16 bits exactly (every half is a float). */
    private static float halfToFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float value = mantissa * (float) Math.pow(2, -24);
            return sign != 0 ? -value : value;
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }
}
