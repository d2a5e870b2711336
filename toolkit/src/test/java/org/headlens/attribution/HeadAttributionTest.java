package org.headlens.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.headlens.TestModels;
import org.headlens.interventions.Baseline;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.interventions.Intervention;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.interventions.InterventionEngine;
import org.headlens.forward.Prompt;
import org.headlens.model.Lvlm;
import org.headlens.results.ResultFolder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

/** Attribution on a random 2-layer, 4-head model in the tiny model's folder format. */
class HeadAttributionTest {
    private static final AttributionOptions OPTIONS = AttributionOptions.defaults().withMasks(24).withHeldOutMasks(16)
            .withDropIncorrect(false).withSeed(3);
    @TempDir
    static Path dir;
    static Path modelDir;
    static List<Sample> samples;

    @BeforeAll
    static void writeModelAndData() {
        modelDir = TestModels.randomModel(dir.resolve("model"), 2, 4, 32, 11);
        samples = TestModels.shapes(dir.resolve("data"), 4, 5);
    }

    @Test
    void singleHeadEffectsAndCurveEndsMatchDirectEngineRuns() {
        try (Lvlm model = Lvlm.load(modelDir)) {
            HeadAttribution attribution = HeadAttribution.of(model).options(OPTIONS).progress(null);
            Sample sample = samples.get(0);
            SampleAttribution measured = attribution.measure(sample, Baseline.blank());
            assertEquals(8, measured.attribution().length);
            int answer = (int) model.encodeWithoutSpecialTokens(sample.answer())[0];
            try (var scope = model.newScope();
                    InterventionEngine engine = InterventionEngine.prepare(model, Prompt.of(model, TinyModel.OBJECT_PROMPT),
                            model.imageProcessor().pixelValues(scope, sample.image()), Baseline.blank())) {
                assertEquals(engine.clean()[answer], measured.clean(), 1e-6);
                assertEquals(engine.allAblated()[answer], measured.allAblated(), 1e-6);
                float[] layer1Head2 = engine.finalLogits(List.of(Intervention.ablate(HeadMask.of(2, 4, List.of(new Head(1, 2))))))[0];
                assertEquals(measured.clean() - layer1Head2[answer], measured.singleHead()[1 * 4 + 2], 1e-5);
            }
            double attentionSum = 0;
            for (double mass : measured.attentionToImage()) {
                assertTrue(mass >= 0 && mass <= 1 + 1e-6, "attention mass " + mass);
                attentionSum += mass;
            }
            assertTrue(attentionSum > 0, "some attention reaches the image");

            SampleCurves curves = attribution.curves(sample, Baseline.blank(), Ranking.fromMeans(List.of(measured)));
            for (SampleCurves.Point point : curves.points()) {
                if (point.k() == 0) {
                    assertEquals(curves.allAblated(), point.keepOnly(), 1e-5, "keeping no head = ablating all");
                    assertEquals(curves.clean(), point.ablateOnly(), 1e-5, "ablating no head = clean");
                } else if (point.k() == 8) {
                    assertEquals(curves.clean(), point.keepOnly(), 1e-5, point.ranking());
                    assertEquals(curves.allAblated(), point.ablateOnly(), 1e-5, point.ranking());
                }
            }
            assertEquals(4 * 9, curves.points().size(), "three rankings plus random, k = 0..8");
        }
    }

    @Test
    void theSameSeedGivesTheSameNumbersAndAnotherSeedDoesNot() {
        try (Lvlm model = Lvlm.load(modelDir)) {
            HeadAttribution attribution = HeadAttribution.of(model).options(OPTIONS).progress(null);
            AttributionResult first = attribution.run(samples.subList(0, 2));
            AttributionResult again = attribution.run(samples.subList(0, 2));
            AttributionResult other = attribution.options(OPTIONS.withSeed(4)).run(samples.subList(0, 2));
            assertEquals(first.heads().toString(), again.heads().toString());
            assertEquals(first.curvesTable().toString(), again.curvesTable().toString());
            assertFalse(first.heads().toString().equals(other.heads().toString()));
        }
    }

    @Test
    void anInterruptedRunResumesFromTheSavedSamples(@TempDir Path out) throws Exception {
        try (Lvlm model = Lvlm.load(modelDir)) {
            HeadAttribution attribution = HeadAttribution.of(model).options(OPTIONS).progress(null);
            JsonObject identity = new JsonObject();
            identity.addProperty("command", "test");
            try (ResultFolder claimed = ResultFolder.claim(out, identity)) {
                assertTrue(Files.isRegularFile(out.resolve(ResultFolder.RUN_FILE)));
            }
            Files.createDirectories(out.resolve("samples"));
            Path stale = Files.writeString(out.resolve("samples/.t-0000.json.0123456789abcdef.headlens-partial"), "{\"id\": \"t-00");
            Path users = Files.writeString(out.resolve("samples/thesis.partial"), "the user's");
            ResultFolder folder = ResultFolder.claim(out, identity);
            assertFalse(Files.exists(stale), "a killed write's temporary file is removed");
            assertTrue(Files.exists(users), "a file of another name is not");
            attribution.run(samples.subList(0, 2), folder);
            Path saved = out.resolve("samples/" + samples.get(0).id() + ".json");
            FileTime before = Files.getLastModifiedTime(saved);
            Thread.sleep(20);
            AttributionResult resumed = attribution.run(samples, folder);
            assertEquals(before, Files.getLastModifiedTime(saved), "a finished sample is not recomputed");
            AttributionResult fresh = attribution.run(samples);
            Table a = resumed.heads();
            Table b = fresh.heads();
            assertArrayEquals(b.doubleColumn("attribution").asDoubleArray(), a.doubleColumn("attribution").asDoubleArray(), 1e-12);
            // the curves follow rankings over all four samples, not the two of the first run
            assertEquals(fresh.curvesTable().toString(), resumed.curvesTable().toString());
            assertEquals(4, Files.list(out.resolve("samples")).filter(p -> p.toString().endsWith(".json")).count());
            assertEquals(0, Files.walk(out).filter(p -> p.toString().endsWith(ResultFolder.PARTIAL_SUFFIX)).count(), "no partial files left");
            folder.close();
        }
    }
}
