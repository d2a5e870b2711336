package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Weights that hold NaN or infinity, as stored or once converted, are refused by name at load. */
class NonFiniteWeightsTest {
    private static final String TENSOR = "language_model.model.layers.2.mlp.up_proj.weight";

    private static Path withValue(Path dir, String name, String tensor, float value, DataType storedType) {
        return ModelCopies.withWeights(ModelCopies.TINY, dir.resolve(name), (manager, tensors) -> {
            NDArray edited = tensors.get(tensor).duplicate();
            edited.set(new NDIndex("3, 5"), value);
            tensors.put(tensor, edited.toType(storedType, false));
        });
    }

    @Test
    void nanOrInfinityInOneTensorIsRefusedNamingTheFileAndTheTensor(@TempDir Path dir) {
        Object[][] cases = {
            {Float.NaN, DataType.FLOAT32, "1 NaN values"},
            {Float.POSITIVE_INFINITY, DataType.FLOAT32, "1 infinite values"},
            {Float.NEGATIVE_INFINITY, DataType.FLOAT16, "1 infinite values"},
            {Float.NaN, DataType.FLOAT16, "1 NaN values"},
        };
        int i = 0;
        for (Object[] c : cases) {
            Path folder = withValue(dir, "case" + i++, TENSOR, (Float) c[0], (DataType) c[1]);
            HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(folder));
            assertEquals(folder.resolve("model.safetensors") + ": tensor '" + TENSOR + "' holds " + c[2]
                    + "; a model with non-finite weights computes no meaningful numbers", e.getMessage());
        }
    }

    @Test
    void valuesBeyondFloat16AreRefusedWhenLoadedInFloat16AndAcceptedInFloat32(@TempDir Path dir) {
        Path folder = withValue(dir, "large", TENSOR, 1e6f, DataType.FLOAT32);
        try (Lvlm model = Lvlm.load(folder)) {
            assertEquals(1e6f, model.weights().get(TENSOR, 256, 128).getFloat(3, 5));
        }
        HeadlensException e = assertThrows(HeadlensException.class,
                () -> Lvlm.load(folder, Lvlm.LoadOptions.defaults().withComputeType(DataType.FLOAT16)));
        assertEquals(folder.resolve("model.safetensors") + ": tensor '" + TENSOR + "' holds 1 infinite values once converted to float16:"
                + " its F32 values exceed the range of float16; load it in float32", e.getMessage());
        Path wide = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("wide"), (manager, tensors) -> {
            NDArray edited = tensors.get(TENSOR).toType(DataType.FLOAT64, false);
            edited.set(new NDIndex("3, 5"), 1e300);
            tensors.put(TENSOR, edited);
        });
        e = assertThrows(HeadlensException.class, () -> Lvlm.load(wide));
        assertEquals(wide.resolve("model.safetensors") + ": tensor '" + TENSOR + "' holds 1 infinite values once converted to float32:"
                + " its F64 values exceed the range of float32; load it in float64", e.getMessage());
        try (Lvlm model = Lvlm.load(wide, Lvlm.LoadOptions.defaults().withComputeType(DataType.FLOAT64))) {
            assertEquals(1e300, model.weights().get(TENSOR, 256, 128).getDouble(3, 5));
        }
    }

    @Test
    void finiteWeightsWhoseSumOverflowsAreAccepted(@TempDir Path dir) {
        // the sum of this tensor is infinite in float32, but every element is finite
        Path folder = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("huge"), (manager, tensors) ->
                tensors.put(TENSOR, tensors.get(TENSOR).abs().add(1).mul(3e37f)));
        try (Lvlm model = Lvlm.load(folder)) {
            assertTrue(Float.isInfinite(model.weights().get(TENSOR, 256, 128).sum().getFloat()));
        }
    }
}
