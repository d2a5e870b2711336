package org.headlens.cli;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.headlens.attribution.AttributionOptions;
import org.headlens.attribution.AttributionResult;
import org.headlens.attribution.HeadAttribution;
import org.headlens.attribution.Ranking;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.flow.FlowOptions;
import org.headlens.flow.FlowResult;
import org.headlens.flow.FlowTracer;
import org.headlens.evaluation.Accuracy;
import org.headlens.model.Images;
import org.headlens.metric.Metric;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;
import org.headlens.notebook.Charts;
import org.headlens.notebook.Report;
import org.headlens.results.ResultFolder;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * {@code demo}: the whole method on the embedded tiny model in a few minutes (evaluation, head
 * attribution with its evaluation and the semantic versus appearance analysis, token-level flow),
 * written as CSV tables with manifests and one self-contained {@code report.html}.
 */
final class DemoCommand implements Main.Command {
    @Override
    public String summary() {
        return "the whole analysis on the embedded model, with report.html";
    }

    @Override
    public List<Options.Option> options() {
        return List.of(Options.OUT.byDefault("out/demo").optional(),
                Options.Option.integer("samples", "attribute and trace the first N samples", 1, 1_000_000).byDefault(64),
                Options.Option.integer("masks", "random masks per sample of the head attribution", 2, 1_000_000).byDefault(128),
                Options.MODEL, Options.DTYPE, Options.COMPUTE, Options.DEVICE, Options.DATA);
    }

    @Override
    public int run(Options options, PrintStream out) {
        long start = System.nanoTime();
        Path modelDir = options.path("model", Main.embedded("model").toString());
        Path dataDir = options.path("data", Main.embedded("eval").toString());
        Path outDir = options.path("out", null);
        List<Sample> all = RunInputs.entries(dataDir);
        List<Sample> samples = all.subList(0, Math.min(options.integer("samples", 0), all.size()));
        String prompt = TinyModel.OBJECT_PROMPT;
        AttributionOptions attributionOptions = AttributionOptions.defaults().withMasks(options.integer("masks", 0))
                .withHeldOutMasks(32).withCurvePoints(17);
        FlowOptions flowOptions = flowOptions(ModelConfig.read(modelDir).text().layers());

        // everything is checked before the folder is claimed, so a refused demo leaves it as it was
        JsonObject identity = new JsonObject();
        identity.addProperty("command", "demo");
        identity.addProperty("model_sha256", ResultFolder.sha256(modelDir));
        identity.addProperty("data_sha256", ResultFolder.sha256(dataDir));
        identity.addProperty("prompt", prompt);
        identity.add("attribution_options", Manifest.options(attributionOptions));
        identity.add("flow_options", Manifest.options(flowOptions));
        ResultFolder.check(outDir, identity);
        // one model for every step: a real checkpoint takes longer to load than the tiny model's whole demo
        try (Lvlm model = Lvlm.load(modelDir, Options.loadOptions(options))) {
            HeadAttribution.of(model).options(attributionOptions).check(samples);
            FlowTracer.of(model).options(flowOptions).check(samples);
            try (ResultFolder root = ResultFolder.claim(outDir, identity)) {
                out.println("demo: 1/3 evaluation on " + all.size() + " samples");
                Accuracy accuracy = Accuracy.measure(model, all, prompt);
                root.writeCsv("evaluate/samples", accuracy.samples());
                root.writeCsv("evaluate/by_class", accuracy.byClass());
                root.writeCsv("evaluate/by_style", accuracy.byStyle());
                root.writeCsv("evaluate/confusions", accuracy.confusions());
                JsonObject evaluationManifest = Manifest.start("demo evaluate", modelDir, dataDir, options);
                evaluationManifest.addProperty("accuracy", accuracy.accuracy());
                evaluationManifest.addProperty("blank_accuracy", accuracy.blankAccuracy());
                Manifest.finish(evaluationManifest, (System.nanoTime() - start) / 1e9);
                root.writeJson("evaluate/manifest.json", evaluationManifest);

                out.println("demo: 2/3 head attribution on " + samples.size() + " samples");
                RunInputs attributionInputs = new RunInputs(modelDir, dataDir, samples, prompt, outDir.resolve("attribution"));
                AttributionResult attribution = AttributeCommand.write(model, attributionInputs, attributionOptions,
                        attributionInputs.manifest("demo attribute", options), out);

                out.println("demo: 3/3 token-level flow on " + samples.size() + " samples");
                RunInputs flowInputs = new RunInputs(modelDir, dataDir, samples, prompt, outDir.resolve("flow"));
                FlowResult flow = TraceCommand.write(model, flowInputs, flowOptions, flowInputs.manifest("demo trace", options), out);

                report(root, out, start, model, outDir, samples, accuracy, attribution, flow);
            }
        }
        return 0;
    }

    /**
     * The demo's token-flow options: the answer's margin (its logit minus the largest other) in
     * windows of half the model's depth. Measured on the embedded model (24 samples, 6 layers): its
     * answers have probability near 1, so the strongest cut (image to role tokens) moves the
     * probability by -0.5% in windows of 2 layers and -1.7% in windows of 3, a flat chart; the
     * logit moves by -7.0% and -12.9%, the margin by -16.5% and -28.4% (image to background
     * tokens: -7.8% in windows of 3), with the same flow strongest and the controls (random
     * image tokens, question to role) still near 0. A relative margin change of -100% is a cut that makes the
     * answer tie with the runner-up, which reads directly.
     *
     * @param layers decoder layers of the model
     * @return the options
     */
    static FlowOptions flowOptions(int layers) {
        return FlowOptions.defaults().withMetric(Metric.MARGIN).withWindowSize(Math.max(1, layers / 2));
    }

    /**
     * @param meanProbability mean probability of the correct answers in the evaluation
     * @param windowSize layers per window
     * @param layers the model's decoder layers
     * @return the report's sentence on why the flow section measures the margin in these windows
     */
    static String whyMetricAndWindow(double meanProbability, int windowSize, int layers) {
        return String.format("Why this metric and window: the model gives its correct answers a mean probability of %.3f, so"
                + " cutting a flow moves the probability by a few percent at most and its chart looks flat; the margin (the"
                + " answer's logit minus the largest other logit) ranks the flows alike but moves by tens of percent, and -100%%"
                + " means the cut makes the answer tie with the runner-up; windows of %d of the model's %d layers (half its depth)"
                + " are wide enough for one cut to matter and still tell early from late layers.", meanProbability, windowSize, layers);
    }

    private static void report(ResultFolder root, PrintStream out, long start, Lvlm model, Path outDir, List<Sample> samples,
            Accuracy accuracy, AttributionResult attribution, FlowResult flow) {
        Report report = new Report("headlens demo: image-to-text information flow in the tiny LLaVA");
        report(report, model, accuracy, attribution, flow, samples);
        root.write("report.html", report.html());
        double seconds = (System.nanoTime() - start) / 1e9;

        Map<String, Double> areas = attribution.faithfulnessAreas();
        Table summary = Table.create("demo summary", StringColumn.create("measure"), DoubleColumn.create("value"));
        addRow(summary, "accuracy", accuracy.accuracy());
        addRow(summary, "blank-image accuracy", accuracy.blankAccuracy());
        addRow(summary, "held-out correlation of the head attribution fit", attribution.meanHeldOutCorrelation());
        for (Map.Entry<String, Double> area : areas.entrySet()) {
            addRow(summary, "faithfulness AUC, " + area.getKey(), area.getValue());
        }
        out.println();
        out.print(summary.printAll());
        out.println();
        out.println("strongest flow: " + flow.strongest());
        Path reportPath = outDir.resolve("report.html").toAbsolutePath().normalize();
        out.println("report: " + reportPath);
        out.printf("demo: accuracy=%.4f heldout_r=%.4f faithfulness_auc=%.4f report=%s seconds=%.1f%n", accuracy.accuracy(),
                attribution.meanHeldOutCorrelation(), areas.get(Ranking.ATTRIBUTION), reportPath, seconds);
    }

    private static void report(Report report, Lvlm model, Accuracy accuracy, AttributionResult attribution, FlowResult flow,
            List<Sample> samples) {
        report.section("1. Does the model use the image?")
                .text(String.format("The model answers %.1f%% of the evaluation questions correctly, and %.1f%% when every image is"
                        + " replaced by a blank one (chance is %.1f%%): its answers come from the image.", 100 * accuracy.accuracy(),
                        100 * accuracy.blankAccuracy(), 100.0 / accuracy.byClass().rowCount()))
                .table(accuracy.byStyle()).table(accuracy.byClass())
                .links("tables", List.of("evaluate/samples.csv", "evaluate/by_class.csv", "evaluate/by_style.csv", "evaluate/confusions.csv", "evaluate/manifest.json"));

        report.section("2. Which heads carry image information to the answer?")
                .text(String.format("Head attribution ablates random halves of the %d heads %d times per sample and fits a linear model"
                        + " from the pattern to the answer's logit; it predicts held-out ablations with a mean correlation of %.3f."
                        + " In the heatmap, each cell is a head's mean attribution: the logit it adds by passing the image on.",
                        attribution.grid().count(), attribution.options().masks(),
                        attribution.meanHeldOutCorrelation()))
                .chart(Charts.attributionHeatmap(attribution))
                .table(attribution.heads().sortDescendingOn("attribution").first(10).setName("the ten heads of largest attribution"))
                .links("tables", List.of("attribution/heads.csv", "attribution/samples.csv", "attribution/per_sample_heads.csv",
                        "attribution/by_class.csv", "attribution/manifest.json"));

        report.section("3. Are they the right heads? Faithfulness and completeness")
                .text("Keeping only the top k heads of a ranking (faithfulness) should recover the clean answer with few heads: higher"
                        + " and earlier is better. Ablating only the top k (completeness) should destroy it: lower is better. Head"
                        + " attribution is compared with single-head ablation, attention weight and a random order.")
                .table(attribution.areas())
                .chart(Charts.evaluationCurves(attribution, false))
                .chart(Charts.evaluationCurves(attribution, true))
                .links("tables", List.of("attribution/curves.csv", "attribution/areas.csv"));

        report.section("4. Semantic versus appearance")
                .text("If heads follow what the object is rather than how it looks, attribution vectors of the same class in"
                        + " different styles are more alike (higher cosine, more shared top heads) than those of the same style and"
                        + " different classes.")
                .table(attribution.similarity())
                .chart(Charts.similarityMatrix(attribution))
                .links("tables", List.of("attribution/similarity.csv", "attribution/similarity_matrix.csv"));

        Table scored = accuracy.samples().where(accuracy.samples().booleanColumn("correct").isTrue());
        double meanProbability = (scored.rowCount() == 0 ? accuracy.samples() : scored).doubleColumn("probability").mean();
        int layers = model.config().text().layers();
        report.section("5. Token-level flow")
                .text("Attention knockout cuts one flow between token groups in a window of " + flow.windowSize() + " consecutive"
                        + " layers. Each line is the mean relative change of the answer's margin (its logit minus the largest other"
                        + " logit) per window; the lower it goes, the more the answer needs that flow there. Strongest: "
                        + flow.strongest() + ".")
                .text(whyMetricAndWindow(meanProbability, flow.windowSize(), layers))
                .chart(Charts.flowCurves(flow))
                .table(flow.summary())
                .text("Each patch tinted by how much the answer's margin falls (red) or rises (blue) when the text after the"
                        + " image may not read that patch in any layer.");
        FlowTracer tracer = FlowTracer.of(model).options(flow.options()).progress(null);
        for (Sample sample : samples.subList(0, Math.min(3, samples.size()))) {
            report.image(Charts.patchMap(Images.read(sample.image()), tracer.patchEffects(sample)),
                    sample.id() + ": " + sample.answer() + ", " + sample.labels().getOrDefault("style", ""));
        }
        report.links("tables", List.of("flow/summary.csv", "flow/curves.csv", "flow/knockouts.csv", "flow/samples.csv", "flow/manifest.json"));
    }

    private static void addRow(Table table, String measure, double value) {
        table.stringColumn("measure").append(measure);
        table.doubleColumn("value").append(value);
    }
}
