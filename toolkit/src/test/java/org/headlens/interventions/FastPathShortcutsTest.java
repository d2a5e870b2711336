package org.headlens.interventions;

import static org.headlens.interventions.InterventionEngineTest.maxDiff;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.headlens.Fixtures;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.forward.Prompt;
import org.headlens.forward.Site;
import org.headlens.model.ImageInput;
import org.headlens.model.Images;
import org.headlens.model.Lvlm;
import org.headlens.model.SafeTensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fast path's shortcuts (resuming at the first edited layer from the clean states, sharing
 * the first computed layer's attention across rows, the final position only in the last layer)
 * give the full recompute's numbers, for interventions whose first edit lies in every layer,
 * alone and mixed in one batch, on every family.
 */
class FastPathShortcutsTest {
    private static final Path TINY = Path.of("..", "datasets", "tiny-shapes", "model");

    private record Setup(Lvlm model, Prompt prompt, NDArray pixels, NDArray baseline) {
    }

    private static Setup setup(String name, NDManager manager) {
        if (name.equals("tiny-shapes")) {
            Lvlm model = Lvlm.load(TINY);
            Sample sample = ShapesDataset.read(Path.of("..", "datasets", "tiny-shapes", "eval")).get(0);
            ImageInput image = model.preprocess(manager, sample.image());
            return new Setup(model, Prompt.of(model, TinyModel.OBJECT_PROMPT, image), image.pixels(), null);
        }
        Path dir = Fixtures.model(name);
        Lvlm model = Lvlm.load(dir);
        SafeTensors reference = SafeTensors.open(dir.resolve("ablations.safetensors"));
        if (!java.nio.file.Files.exists(dir.resolve("image.png"))) {
            // LLaVA-1.5 fixtures hold their pixel values
            return new Setup(model, Prompt.ofIds(model, reference.read("input_ids", manager).toLongArray()),
                    reference.read("pixel_values", manager), reference.read("pixel_values_baseline", manager));
        }
        ImageInput image = model.preprocess(manager, Images.read(dir.resolve("image.png")));
        NDArray baseline = model.preprocess(manager, Images.read(dir.resolve("image_baseline.png"))).pixels();
        Prompt prompt = Prompt.ofIds(model, reference.read("input_ids", manager).toLongArray(), image);
        return new Setup(model, prompt, image.pixels(), baseline);
    }

    /**
     * Per layer: one head alone, a top-k style set from that layer on, and a set plus a
     * user's activation edit in that layer; then the clean row, random masks (which start at
     * layer 0) and an edit of the last layer only.
     */
    private static List<Intervention> startingInEveryLayer(int layers, int heads, Random random) {
        List<Intervention> list = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            list.add(Intervention.ablate(HeadMask.of(layers, heads, List.of(new Head(l, random.nextInt(heads))))));
            List<Head> fromHere = new ArrayList<>();
            for (int later = l; later < layers; later++) {
                fromHere.add(new Head(later, random.nextInt(heads)));
            }
            list.add(Intervention.ablate(HeadMask.of(layers, heads, fromHere)));
            int layer = l;
            Intervention scaled = edits -> edits.editActivation(Site.mlpOutput(layer), x -> x.mul(1.5f));
            list.add(scaled.and(Intervention.ablate(HeadMask.of(layers, heads, List.of(new Head(l, 0))))));
        }
        list.add(Intervention.none());
        for (int i = 0; i < 3; i++) {
            list.add(Intervention.ablate(HeadMask.random(layers, heads, 0.5, random)));
        }
        int last = layers - 1;
        list.add(edits -> edits.editActivation(Site.headOutput(new Head(last, 1)), x -> x.mul(0f)));
        return list;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-shapes", "llava-clip-llama", "llava-siglip-qwen2", "llava-next-clip-llama", "qwen2-vl"})
    void everyShortcutGivesTheFullRecomputesNumbers(String name) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Setup setup = setup(name, manager);
            try (Lvlm model = setup.model()) {
                int layers = model.config().text().layers();
                int heads = model.config().text().heads();
                List<Intervention> interventions = startingInEveryLayer(layers, heads, new Random(3));
                Baseline baseline = setup.baseline() == null ? Baseline.blank() : Baseline.image(setup.baseline());
                try (InterventionEngine engine = InterventionEngine.prepare(model, setup.prompt(), setup.pixels(), baseline);
                        InterventionEngine alone = InterventionEngine.prepare(model, setup.prompt(), setup.pixels(), baseline).batchBytes(1);
                        InterventionEngine plain = InterventionEngine.prepare(model, setup.prompt(), setup.pixels(), baseline).shortcuts(false)) {
                    float[][] full = engine.finalLogitsFullRecompute(interventions, 5);
                    // mixed batches (each starts at its lowest first layer), batches of head
                    // ablations that all start in one layer (whose attention is shared by the rows,
                    // the other image's among them), one row per batch (each resumes at its own
                    // first layer), and no shortcuts at all
                    float[][] byLayer = new float[interventions.size()][];
                    for (int l = 0; l < layers; l++) {
                        int[] rows = {3 * l, 3 * l + 1};
                        List<Intervention> batch = new ArrayList<>(List.of(interventions.get(rows[0]), interventions.get(rows[1])));
                        if (setup.baseline() != null) {
                            // patching from the baseline image equals ablating against it: a second swap source in the same layer
                            batch.add(new ActivationPatching(setup.baseline(), HeadMask.of(layers, heads, List.of(new Head(l, heads - 1)))));
                        }
                        float[][] logits = engine.finalLogits(batch);
                        byLayer[rows[0]] = logits[0];
                        byLayer[rows[1]] = logits[1];
                    }
                    for (int i = 0; i < interventions.size(); i++) {
                        byLayer[i] = byLayer[i] == null ? full[i] : byLayer[i];
                    }
                    float[][][] runs = {engine.finalLogits(interventions), byLayer, alone.finalLogits(interventions), plain.finalLogits(interventions)};
                    String[] what = {"batched with shortcuts", "ablations batched by first layer", "one per batch with shortcuts",
                        "without shortcuts"};
                    float[] clean = engine.clean();
                    for (int run = 0; run < runs.length; run++) {
                        for (int i = 0; i < interventions.size(); i++) {
                            double diff = maxDiff(runs[run][i], full[i]);
                            assertTrue(diff < 1e-5 * scale(full[i]), name + ", " + what[run] + ": intervention " + i
                                    + " differs from the full recompute by " + diff);
                        }
                    }
                    // every kind of intervention above moves the logits, so a skipped edit cannot pass
                    for (int i = 0; i < interventions.size(); i++) {
                        if (i != 3 * layers) {
                            assertTrue(maxDiff(full[i], clean) > 1e-4, name + ": intervention " + i + " changes the logits");
                        }
                    }
                }
            }
        }
    }

    /** Tolerance scale: 1 for logits of order 1, growing with larger logits (float32 rounding is relative). */
    private static double scale(float[] logits) {
        double max = 1;
        for (float v : logits) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}
