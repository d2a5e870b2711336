package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.headlens.model.Lvlm;
import org.headlens.model.SafeTensors;
import org.junit.jupiter.api.Test;

class ActivationCacheTest {
    private static double maxDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void capturedActivationsMatchTheReferenceOnTheFullPassAndOnACachedPrefix() {
        var dir = Fixtures.model("llava-clip-llama");
        try (Lvlm model = Lvlm.load(dir); NDManager manager = NDManager.newBaseManager()) {
            SafeTensors fixtures = SafeTensors.open(dir.resolve("fixtures.safetensors"));
            long[] ids = fixtures.read("input_ids", manager).toLongArray();
            NDArray pixels = fixtures.read("pixel_values", manager);
            Capture capture = Capture.of(Site.residualPost(1), Site.attentionPattern(2), Site.headOutput(0), Site.headOutput(new Head(0, 3)));
            TokenLayout layout = TokenLayout.of(ids, model.config());
            try (ForwardResult full = ForwardPass.run(model, ids, pixels, capture);
                    KeyValueCache prefix = KeyValueCache.ofPrefix(model, layout, pixels);
                    ForwardResult after = ForwardPass.run(model, Pass.after(prefix).capture(capture), null, LayerEdits.none())) {
                ActivationCache cache = full.cache();
                assertEquals(0, cache.firstPosition());
                assertTrue(maxDiff(cache.get(Site.residualPost(1)), fixtures.read("decoder_layer_output.1", manager)) < 1e-4);
                assertTrue(maxDiff(cache.get(Site.attentionPattern(2)), fixtures.read("attentions.2", manager)) < 1e-5);
                assertEquals(new ai.djl.ndarray.types.Shape(1, 4, 28, 16), cache.get(Site.headOutput(0)).getShape());
                assertEquals(0, maxDiff(cache.get(Site.headOutput(new Head(0, 3))), cache.get(Site.headOutput(0)).get(new NDIndex(":, 3"))));
                assertThrows(HeadlensException.class, () -> cache.get(Site.mlpOutput(0)));

                // the fast path holds only the text after the image, and says so
                ActivationCache suffix = after.cache();
                int imageEnd = layout.imageEnd();
                assertEquals(imageEnd, suffix.firstPosition());
                NDArray fullAfterImage = cache.get(Site.residualPost(1)).get(new NDIndex(":, {}:, :", imageEnd));
                assertTrue(maxDiff(suffix.get(Site.residualPost(1)), fullAfterImage) < 1e-5);
                assertTrue(maxDiff(suffix.at(Site.residualPost(1), layout.length() - 1), cache.at(Site.residualPost(1), layout.length() - 1)) < 1e-5);
                HeadlensException early = assertThrows(HeadlensException.class, () -> suffix.at(Site.residualPost(1), imageEnd - 1));
                assertTrue(early.getMessage().contains("fast path"), early.getMessage());
                assertTrue(maxDiff(after.logits(), full.logits()) < 1e-5);
            }

            // editing one head's output moves the logits; the identity edit does not
            float[] clean;
            try (ForwardResult r = ForwardPass.run(model, ids, pixels)) {
                clean = r.finalLogits();
            }
            LayerEdits zeroHead = LayerEdits.none().editActivation(Site.headOutput(new Head(1, 2)), x -> x.zerosLike());
            LayerEdits identity = LayerEdits.none().editActivation(Site.mlpOutput(0), x -> x);
            try (ForwardResult zeroed = ForwardPass.run(model, Pass.full(layout), pixels, zeroHead);
                    ForwardResult same = ForwardPass.run(model, Pass.full(layout), pixels, identity)) {
                assertTrue(org.headlens.interventions.InterventionEngineTest.maxDiff(zeroed.finalLogits(), clean) > 1e-2);
                assertEquals(0, org.headlens.interventions.InterventionEngineTest.maxDiff(same.finalLogits(), clean), 1e-7);
            }
            LayerEdits wrongShape = LayerEdits.none().editActivation(Site.mlpOutput(0), x -> x.get(new NDIndex(":, 1:, :")));
            HeadlensException shape = assertThrows(HeadlensException.class, () -> ForwardPass.run(model, Pass.full(layout), pixels, wrongShape).close());
            assertTrue(shape.getMessage().contains("keep the shape"), shape.getMessage());
        }
    }
}
