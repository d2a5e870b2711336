package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.headlens.Fixtures;
import org.headlens.model.Lvlm;
import org.headlens.model.SafeTensors;
import org.junit.jupiter.api.Test;

class HooksTest {
    @Test
    void cachedActivationsMatchTheReferenceAndPatchesChangeTheOutput() {
        var dir = Fixtures.model("llava-clip-llama");
        try (Lvlm model = Lvlm.load(dir); NDManager manager = NDManager.newBaseManager()) {
            SafeTensors fixtures = SafeTensors.open(dir.resolve("fixtures.safetensors"));
            long[] ids = fixtures.read("input_ids", manager).toLongArray();
            NDArray pixels = fixtures.read("pixel_values", manager);
            Hooks hooks = Hooks.create()
                    .cache(HookSite.RESIDUAL_POST, 1, manager)
                    .cache(HookSite.ATTENTION_PATTERN, 2, manager)
                    .cache(HookSite.HEAD_OUTPUT, 0, manager);
            float[] clean;
            try (ForwardResult r = ForwardPass.run(model, ids, pixels, ForwardOptions.logitsOnly(), hooks)) {
                clean = r.finalLogits();
            }
            NDArray post = hooks.cached(HookSite.RESIDUAL_POST, 1);
            assertTrue(post.sub(fixtures.read("decoder_layer_output.1", manager)).abs().max().getFloat() < 1e-4);
            assertTrue(hooks.cached(HookSite.ATTENTION_PATTERN, 2).sub(fixtures.read("attentions.2", manager)).abs().max().getFloat() < 1e-5);
            assertEquals(new ai.djl.ndarray.types.Shape(1, 4, 28, 16), hooks.cached(HookSite.HEAD_OUTPUT, 0).getShape());

            // zeroing one head's output moves the logits; the identity patch does not
            Hooks zeroHead = Hooks.create().patch(HookSite.HEAD_OUTPUT, 1, x -> {
                NDArray copy = x.duplicate();
                copy.set(new ai.djl.ndarray.index.NDIndex(":, 2, :, :"), 0f);
                return copy;
            });
            Hooks identity = Hooks.create().patch(HookSite.MLP_OUTPUT, 0, x -> x);
            try (ForwardResult zeroed = ForwardPass.run(model, ids, pixels, ForwardOptions.logitsOnly(), zeroHead);
                    ForwardResult same = ForwardPass.run(model, ids, pixels, ForwardOptions.logitsOnly(), identity)) {
                assertTrue(InterventionEngineTest.maxDiff(zeroed.finalLogits(), clean) > 1e-2);
                assertEquals(0, InterventionEngineTest.maxDiff(same.finalLogits(), clean), 1e-7);
            }
        }
    }
}
