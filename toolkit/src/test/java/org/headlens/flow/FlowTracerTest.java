package org.headlens.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import org.headlens.TestModels;
import org.headlens.interventions.Baseline;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.interventions.Intervention;
import org.headlens.interventions.Knockout;
import org.headlens.forward.TokenGroup;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.interventions.InterventionEngine;
import org.headlens.forward.Prompt;
import org.headlens.metric.Metric;
import org.headlens.model.Lvlm;
import org.headlens.results.ResultFolder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

/** Flow tracing on a random 4-layer, 4-head model in the tiny model's folder format. */
class FlowTracerTest {
    private static final FlowOptions OPTIONS = FlowOptions.defaults().withDropIncorrect(false).withMetric(Metric.LOGIT);
    @TempDir
    static Path dir;
    static Path modelDir;
    static List<Sample> samples;

    @BeforeAll
    static void writeModelAndData() {
        modelDir = TestModels.randomModel(dir.resolve("model"), 4, 4, 32, 21);
        samples = TestModels.shapes(dir.resolve("data"), 9, 6);
    }

    @Test
    void everyPointIsTheMetricOfThatKnockoutRunDirectly() {
        try (Lvlm model = Lvlm.load(modelDir)) {
            FlowTracer tracer = FlowTracer.of(model).options(OPTIONS).progress(null);
            assertEquals(List.of(0, 1, 2, 3), java.util.Arrays.stream(tracer.windowStarts()).boxed().toList(),
                    "a quarter of 4 layers is a window of 1 layer");
            Sample sample = samples.get(0);
            SampleFlow traced = tracer.trace(sample);
            assertEquals(FlowPair.defaults().size() * 4, traced.points().size());
            int answer = (int) model.encodeWithoutSpecialTokens(sample.answer())[0];
            Prompt prompt = Prompt.of(model, TinyModel.OBJECT_PROMPT).withObjectMask(sample.readMask(), 8, 0.5);
            try (var scope = model.newScope();
                    InterventionEngine engine = InterventionEngine.prepare(model, prompt,
                            model.imageProcessor().pixelValues(scope, sample.image()), Baseline.blank())) {
                assertEquals(engine.clean()[answer], traced.clean(), 1e-5);
                for (SampleFlow.Point point : traced.points()) {
                    FlowPair pair = FlowPair.parse(point.pair());
                    Knockout cut = Knockout.window(pair.source(), pair.target(), point.firstLayer(), 1);
                    float[] logits = engine.finalLogitsFullRecompute(List.of(Intervention.knockout(cut)), 1)[0];
                    assertEquals(logits[answer], point.metric(), 1e-4, point.toString());
                }
            }
            assertEquals(prompt.positions(TokenGroup.IMAGE_OBJECT).length, traced.objectTokens());
            assertTrue(traced.objectTokens() > 2 && traced.objectTokens() < 40, traced.objectTokens() + " object tokens");
            assertNotEquals(traced.clean(), traced.points().get(2 * 4 + 1).metric(), "cutting the image from the role tokens matters");
        }
    }

    @Test
    void cuttingTheImageFromAllTextInEveryLayerLeavesNoTraceOfIt() {
        FlowOptions all = OPTIONS.withPairs(List.of(FlowPair.parse("image->suffix_text"))).withWindowSize(4);
        try (Lvlm model = Lvlm.load(modelDir)) {
            // samples 0 and 8 are both circles, so the answer token is the same
            FlowResult result = FlowTracer.of(model).options(all).progress(null).run(List.of(samples.get(0), samples.get(8)));
            SampleFlow a = result.traced().get(0);
            SampleFlow b = result.traced().get(1);
            assertEquals(a.shape(), b.shape());
            assertTrue(Math.abs(a.clean() - b.clean()) > 1e-3, "the two images give different clean logits");
            assertEquals(a.points().get(0).metric(), b.points().get(0).metric(), 1e-4, "without the image both runs are the same");
            assertEquals(1, result.windows());
        }
    }

    @Test
    void aHeadSetCutsTheFlowOnlyInThoseHeads() {
        List<Head> everyHead = new ArrayList<>();
        for (int l = 0; l < 4; l++) {
            for (int h = 0; h < 4; h++) {
                everyHead.add(new Head(l, h));
            }
        }
        FlowOptions imageToFinal = OPTIONS.withPairs(List.of(FlowPair.parse("image->final"))).withWindowSize(2);
        try (Lvlm model = Lvlm.load(modelDir)) {
            Sample sample = samples.get(1);
            FlowTracer tracer = FlowTracer.of(model).progress(null);
            SampleFlow allHeads = tracer.options(imageToFinal).trace(sample);
            SampleFlow listed = tracer.options(imageToFinal.withHeads(everyHead)).trace(sample);
            SampleFlow one = tracer.options(imageToFinal.withHeads(List.of(new Head(1, 2)))).trace(sample);
            assertEquals(allHeads.points(), listed.points(), "listing every head is the same as no restriction");
            int answer = (int) model.encodeWithoutSpecialTokens(sample.answer())[0];
            Prompt prompt = Prompt.of(model, TinyModel.OBJECT_PROMPT);
            try (var scope = model.newScope();
                    InterventionEngine engine = InterventionEngine.prepare(model, prompt,
                            model.imageProcessor().pixelValues(scope, sample.image()), Baseline.blank())) {
                Knockout cut = new Knockout(TokenGroup.IMAGE, TokenGroup.FINAL, new int[] {0, 1}, HeadMask.of(4, 4, List.of(new Head(1, 2))));
                assertEquals(engine.finalLogitsFullRecompute(List.of(Intervention.knockout(cut)), 1)[0][answer],
                        one.points().get(0).metric(), 1e-4);
            }
            assertNotEquals(allHeads.points().get(0).metric(), one.points().get(0).metric(), 1e-6);
        }
    }

    @Test
    void aRerunResumesFromTheSavedSamplesAndEqualsAFreshRun(@TempDir Path out) throws Exception {
        try (Lvlm model = Lvlm.load(modelDir)) {
            FlowTracer tracer = FlowTracer.of(model).options(OPTIONS).progress(null);
            JsonObject identity = new JsonObject();
            identity.addProperty("command", "test");
            ResultFolder folder = ResultFolder.claim(out, identity);
            tracer.run(samples.subList(0, 2), folder);
            Path saved = out.resolve("flow/" + samples.get(0).id() + ".json");
            FileTime before = Files.getLastModifiedTime(saved);
            Thread.sleep(20);
            FlowResult resumed = tracer.run(samples.subList(0, 3), folder);
            assertEquals(before, Files.getLastModifiedTime(saved), "a finished sample is not recomputed");
            FlowResult fresh = tracer.run(samples.subList(0, 3));
            Table a = resumed.curves();
            Table b = fresh.curves();
            assertEquals(b.toString(), a.toString());
            assertEquals(3, a.intColumn("samples").get(0));
            folder.close();
        }
    }
}
