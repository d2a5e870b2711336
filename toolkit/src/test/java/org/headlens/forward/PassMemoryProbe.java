package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonParser;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.headlens.interventions.Baseline;
import org.headlens.interventions.Intervention;
import org.headlens.interventions.InterventionEngine;
import org.headlens.model.Lvlm;
import org.headlens.model.Memory;
import org.headlens.model.ModelConfig;

/**
 * Peak memory of one image's passes on a random LLaVA-shaped model of a given depth, in a fresh
 * JVM: {@code PassMemoryProbe LAYERS}. Prints {@code probe: layers=N prefix_peak=B recompute_peak=B},
 * each the peak resident bytes above the resident size just before the step.
 */
public final class PassMemoryProbe {
    private PassMemoryProbe() {
    }

    /** @param args the number of decoder layers */
    public static void main(String[] args) {
        int layers = Integer.parseInt(args[0]);
        String json = "{\"model_type\":\"llava\",\"image_token_index\":999,"
                + "\"vision_config\":{\"model_type\":\"clip_vision_model\",\"hidden_size\":64,\"intermediate_size\":128,"
                + "\"num_hidden_layers\":2,\"num_attention_heads\":2,\"image_size\":336,\"patch_size\":14},"
                + "\"text_config\":{\"model_type\":\"llama\",\"hidden_size\":256,\"intermediate_size\":2048,"
                + "\"num_hidden_layers\":" + layers + ",\"num_attention_heads\":16,\"num_key_value_heads\":16,\"vocab_size\":1000}}";
        ModelConfig config = ModelConfig.parse(Path.of("(probe)"), JsonParser.parseString(json).getAsJsonObject());
        long[] ids = new long[1 + 5 + 1 + 24];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 3 + (i * 37) % 900;
        }
        ids[6] = 999;
        try (Lvlm model = Lvlm.random(config, 7); NDManager manager = NDManager.newBaseManager()) {
            NDArray pixels = manager.randomNormal(new Shape(1, 3, 336, 336));
            Prompt prompt = Prompt.ofIds(model, ids);
            List<Intervention> masks = List.of(Intervention.ablate(HeadMask.random(layers, 16, 0.5, new java.util.Random(1))));
            InterventionEngine.prepare(model, prompt, pixels, Baseline.blank()).close(); // warm-up
            long prefix = peakAbove(() -> InterventionEngine.prepare(model, prompt, pixels, Baseline.blank()).close());
            long recompute;
            try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, Baseline.blank())) {
                engine.finalLogitsFullRecompute(masks, 1);
                recompute = peakAbove(() -> engine.finalLogitsFullRecompute(masks, 1));
            }
            System.out.printf(Locale.ROOT, "probe: layers=%d prefix_peak=%d recompute_peak=%d%n", layers, prefix, recompute);
        }
    }

    private static long peakAbove(Runnable step) {
        if (!Memory.resetPeak()) {
            throw new IllegalStateException("the peak resident size cannot be reset here");
        }
        long before = Memory.residentBytes();
        step.run();
        return Memory.peakResidentBytes() - before;
    }
}
