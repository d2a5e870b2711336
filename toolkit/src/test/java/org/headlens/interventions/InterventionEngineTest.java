package org.headlens.interventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.headlens.Fixtures;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.forward.Prompt;
import org.headlens.forward.Site;
import org.headlens.forward.TokenGroup;
import org.headlens.model.Lvlm;
import org.headlens.model.SafeTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

public class InterventionEngineTest {
    private static Lvlm model;
    private static NDManager manager;
    private static Prompt prompt;
    private static NDArray pixels;
    private static NDArray baselinePixels;

    @BeforeAll
    static void load() {
        var dir = Fixtures.model("llava-clip-llama");
        model = Lvlm.load(dir);
        manager = NDManager.newBaseManager();
        SafeTensors fixtures = SafeTensors.open(dir.resolve("ablations.safetensors"));
        // 4 prefix, 16 image, 8 suffix positions; call the last 2 suffix tokens the role tokens
        Prompt ids = Prompt.ofIds(model, fixtures.read("input_ids", manager).toLongArray());
        prompt = new Prompt(ids.inputIds(), ids.layout(), 2, null).withObjectPatches(checkerboard(16));
        pixels = fixtures.read("pixel_values", manager);
        baselinePixels = fixtures.read("pixel_values_baseline", manager);
    }

    private static boolean[] checkerboard(int n) {
        boolean[] b = new boolean[n];
        for (int i = 0; i < n; i++) {
            b[i] = (i + i / 4) % 2 == 0;
        }
        return b;
    }

    @AfterAll
    static void close() {
        manager.close();
        model.close();
    }

    public static double maxDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    private static float[] plainRun(NDArray image) {
        try (ForwardResult r = ForwardPass.run(model, prompt.inputIds(), image)) {
            return r.finalLogits();
        }
    }

    @Test
    void fastPathEqualsFullRecomputeForRandomMasksAndKnockouts() {
        Random random = new Random(11);
        TokenGroup[] receivers = {TokenGroup.FINAL, TokenGroup.ROLE, TokenGroup.QUESTION, TokenGroup.SUFFIX_TEXT};
        TokenGroup[] sources = {TokenGroup.IMAGE, TokenGroup.IMAGE_OBJECT, TokenGroup.IMAGE_BACKGROUND,
                TokenGroup.PREFIX_TEXT, TokenGroup.QUESTION};
        List<Intervention> interventions = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            HeadMask mask = HeadMask.random(3, 4, 0.5, random);
            List<Knockout> knockouts = new ArrayList<>();
            if (i % 2 == 1) {
                int first = random.nextInt(3);
                HeadMask heads = i % 4 == 1 ? null : HeadMask.random(3, 4, 0.5, random);
                knockouts.add(new Knockout(sources[random.nextInt(sources.length)], receivers[random.nextInt(receivers.length)],
                        java.util.stream.IntStream.range(first, Math.min(3, first + 2)).toArray(), heads));
            }
            interventions.add((i % 5 == 4 ? Intervention.none() : Intervention.ablate(mask)).and(Intervention.all(knockouts)));
        }
        try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, Baseline.image(baselinePixels))) {
            float[][] fast = engine.finalLogits(interventions);
            float[][] full = engine.finalLogitsFullRecompute(interventions, 7);
            double worst = 0;
            double moved = 0;
            float[] clean = engine.clean();
            for (int i = 0; i < fast.length; i++) {
                worst = Math.max(worst, maxDiff(fast[i], full[i]));
                moved = Math.max(moved, maxDiff(fast[i], clean));
            }
            assertTrue(worst < 1e-5, "fast path differs from full recompute by " + worst);
            assertTrue(moved > 0.1, "the interventions change the logits (" + moved + ")");
        }
    }

    @Test
    void knockoutOfEarlierQueriesFallsBackToTheFullPassAndStillMatters() {
        Knockout imageToPrefix = Knockout.window(TokenGroup.PREFIX_TEXT, TokenGroup.IMAGE, 0, 3);
        try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, Baseline.blank())) {
            float[] cut = engine.finalLogits(List.of(Intervention.knockout(imageToPrefix)))[0];
            float[] reference = engine.finalLogitsFullRecompute(List.of(Intervention.knockout(imageToPrefix)), 1)[0];
            assertEquals(0, maxDiff(cut, reference), 1e-6);
            assertTrue(maxDiff(cut, engine.clean()) > 1e-3);
        }
    }

    @Test
    void ablatingNoHeadIsCleanAndAblatingEveryHeadIsTheBaselineRun() {
        float[] clean = plainRun(pixels);
        float[] baseline = plainRun(baselinePixels);
        assertTrue(maxDiff(clean, baseline) > 1, "the two images give different answers");
        try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, Baseline.image(baselinePixels))) {
            assertTrue(maxDiff(engine.clean(), clean) < 1e-5);
            assertTrue(maxDiff(engine.finalLogits(List.of(Intervention.ablate(HeadMask.none(3, 4))))[0], clean) < 1e-5);
            assertTrue(maxDiff(engine.allAblated(), baseline) < 1e-5);
        }
    }

    @Test
    void everyBaselineKindRunsAndDiffers() {
        List<Baseline> kinds = List.of(Baseline.blank(), Baseline.meanOverImagePositions(),
                Baseline.meanOf(List.of(pixels, baselinePixels)), Baseline.image(baselinePixels));
        List<float[]> results = new ArrayList<>();
        for (Baseline kind : kinds) {
            try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, kind)) {
                results.add(engine.allAblated());
            }
        }
        // all-ablated with the mean image baseline equals the plain run on the mean image
        float[] meanImageRun = plainRun(pixels.add(baselinePixels).div(2));
        assertTrue(maxDiff(results.get(2), meanImageRun) < 1e-5);
        assertTrue(maxDiff(results.get(0), plainRun(manager.zeros(pixels.getShape()))) < 1e-5);
        for (int i = 0; i < results.size(); i++) {
            for (int j = i + 1; j < results.size(); j++) {
                assertTrue(maxDiff(results.get(i), results.get(j)) > 1e-3, kinds.get(i) + " vs " + kinds.get(j));
            }
        }
    }

    @Test
    void batchSizeFollowsTheMemoryBoundAndResultsDoNotDependOnIt() {
        List<Intervention> masks = new ArrayList<>();
        Random random = new Random(3);
        for (int i = 0; i < 9; i++) {
            masks.add(Intervention.ablate(HeadMask.random(3, 4, 0.5, random)));
        }
        try (InterventionEngine big = InterventionEngine.prepare(model, prompt, pixels, Baseline.blank());
                InterventionEngine small = InterventionEngine.prepare(model, prompt, pixels, Baseline.blank()).batchBytes(1)) {
            assertEquals(1, small.batchSize());
            assertTrue(big.batchSize() > 9);
            float[][] a = big.finalLogits(masks);
            float[][] b = small.finalLogits(masks);
            for (int i = 0; i < a.length; i++) {
                assertTrue(maxDiff(a[i], b[i]) < 1e-5);
            }
        }
    }

    @Test
    void patchingHeadsFromASecondImageEqualsAblatingThemAgainstThatImageInTheSameBatchAsOtherBaselines() {
        HeadMask patched = HeadMask.of(3, 4, List.of(new Head(0, 1), new Head(1, 3), new Head(2, 0)));
        HeadMask ablated = HeadMask.of(3, 4, List.of(new Head(1, 0), new Head(2, 2)));
        Intervention patch = new ActivationPatching(baselinePixels, patched);
        float[] againstImage;
        float[] everyHeadFromImage;
        try (InterventionEngine reference = InterventionEngine.prepare(model, prompt, pixels, Baseline.image(baselinePixels))) {
            againstImage = reference.finalLogits(List.of(Intervention.ablate(patched)))[0];
            everyHeadFromImage = reference.allAblated();
        }
        try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, Baseline.blank())) {
            List<Intervention> batch = List.of(Intervention.ablate(ablated), patch, patch.and(Intervention.ablate(ablated)),
                    new ActivationPatching(baselinePixels, HeadMask.all(3, 4)));
            float[][] fast = engine.finalLogits(batch);
            float[][] full = engine.finalLogitsFullRecompute(batch, 4);
            float[] blankAblation = engine.finalLogits(List.of(Intervention.ablate(ablated)))[0];
            assertTrue(maxDiff(fast[0], blankAblation) < 1e-5, "batched and alone: " + maxDiff(fast[0], blankAblation));
            assertTrue(maxDiff(fast[1], againstImage) < 1e-5, "patching equals ablation against the second image");
            assertTrue(maxDiff(fast[3], everyHeadFromImage) < 1e-5, "patching every head is the run on the second image");
            assertTrue(maxDiff(fast[1], engine.clean()) > 1e-2 && maxDiff(fast[2], fast[1]) > 1e-3);
            for (int i = 0; i < batch.size(); i++) {
                assertTrue(maxDiff(fast[i], full[i]) < 1e-5, "fast path equals full recompute for row " + i);
            }
        }
    }

    @Test
    void anInterventionWrittenByAUserRunsOnTheFastPathAndEditsOnlyTheTextAfterTheImage() {
        Head head = new Head(1, 2);
        // written as a notebook cell would: halve one head's output wherever the text reads the image
        Intervention halve = edits -> edits.editActivation(Site.headOutput(head), x -> x.mul(0.5f));
        Intervention identity = edits -> edits.editActivation(Site.mlpOutput(0), x -> x);
        try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, Baseline.blank())) {
            float[][] fast = engine.finalLogits(List.of(halve, identity));
            float[][] full = engine.finalLogitsFullRecompute(List.of(halve, identity), 2);
            assertTrue(maxDiff(fast[0], engine.clean()) > 1e-3, "halving a head moves the logits");
            // 1e-5: the clean logits come from the clean states, computed with other matrix shapes (float32 rounding)
            assertTrue(maxDiff(fast[1], engine.clean()) < 1e-5, "the identity edit changes nothing: " + maxDiff(fast[1], engine.clean()));
            assertTrue(maxDiff(fast[0], full[0]) < 1e-5, "the full pass edits the same positions as the fast path");
            try (ForwardResult result = engine.run(halve, org.headlens.forward.Capture.of(Site.headOutput(head)));
                    ForwardResult clean = engine.run(Intervention.none(), org.headlens.forward.Capture.of(Site.headOutput(head)))) {
                assertEquals(prompt.layout().imageEnd(), result.cache().firstPosition());
                NDArray ratio = result.cache().get(Site.headOutput(head)).div(clean.cache().get(Site.headOutput(head)));
                assertEquals(0.5, ratio.mean().getFloat(), 1e-4);
            }
        }
    }
}
