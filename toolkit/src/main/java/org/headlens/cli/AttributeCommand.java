package org.headlens.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;
import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.util.Map;
import org.headlens.attribution.AttributionOptions;
import org.headlens.attribution.AttributionResult;
import org.headlens.attribution.HeadAttribution;
import org.headlens.attribution.Ranking;
import org.headlens.attribution.Regression;
import org.headlens.interventions.Baseline;
import org.headlens.metric.Metric;
import org.headlens.model.Lvlm;
import org.headlens.results.ResultFolder;

/** {@code attribute}: head attribution with baselines, evaluation curves and the similarity analysis, saved as CSV. */
final class AttributeCommand implements Main.Command {
    @Override
    public String summary() {
        return "head attribution and its evaluation: [--model DIR] [--data DIR] --out DIR [--samples N] [--masks 256]"
                + " [--held-out 64] [--alpha 0.5] [--seed 0] [--metric logit|log-prob|probability|margin]"
                + " [--regression ols|ridge|lasso] [--lambda L] [--baseline blank|mean-image|mean-over-image-positions]"
                + " [--keep-incorrect] [--curve-points 33] [--top-k 5] [--prompt TEXT]";
    }

    @Override
    public int run(Options options, PrintStream out) {
        RunInputs inputs = RunInputs.read(options);
        AttributionOptions defaults = AttributionOptions.defaults();
        String regression = options.string("regression", "ols");
        double lambda = options.number("lambda", 0.01);
        AttributionOptions attributionOptions = defaults.withMasks(options.integer("masks", defaults.masks()))
                .withHeldOutMasks(options.integer("held-out", defaults.heldOutMasks()))
                .withAlpha(options.number("alpha", defaults.alpha()))
                .withSeed(options.integer("seed", (int) defaults.seed()))
                .withMetric(Metric.parse(options.string("metric", defaults.metric().label())))
                .withRegression(switch (regression) {
                    case "ols" -> Regression.ols();
                    case "ridge" -> Regression.ridge(lambda);
                    case "lasso" -> Regression.lasso(lambda);
                    default -> throw new org.headlens.HeadlensException("unknown regression '" + regression + "': use ols, ridge or lasso");
                })
                .withBaseline(Baseline.parse(options.string("baseline", defaults.baseline().label())))
                .withDropIncorrect(!options.flag("keep-incorrect"))
                .withCurvePoints(options.integer("curve-points", defaults.curvePoints()))
                .withTopK(options.integer("top-k", defaults.topK()));
        AttributionResult result = write(inputs, attributionOptions, inputs.manifest("attribute", options), out);
        Map<String, Double> areas = result.faithfulnessAreas();
        out.println();
        out.print(result.areas().printAll());
        out.println();
        out.print(result.similarity().printAll());
        out.println();
        out.printf("attribute: samples=%d masks=%d heldout_r=%.4f faithfulness_auc=%.4f single_head_auc=%.4f attention_auc=%.4f"
                + " random_auc=%.4f seconds=%.1f%n", result.used().size(), attributionOptions.masks(), result.meanHeldOutCorrelation(),
                areas.get(Ranking.ATTRIBUTION), areas.get(Ranking.SINGLE_HEAD), areas.get(Ranking.ATTENTION),
                areas.get(Ranking.RANDOM), result.seconds());
        return 0;
    }

    /**
     * Runs the attribution and writes its tables and manifest into the inputs' folder.
     *
     * @return the result
     */
    static AttributionResult write(RunInputs inputs, AttributionOptions attributionOptions, JsonObject manifest, PrintStream out) {
        // a baseline is recorded by its name: an image baseline's pixels are not options
        Gson gson = new GsonBuilder().registerTypeHierarchyAdapter(Baseline.class,
                (JsonSerializer<Baseline>) (baseline, type, context) -> new JsonPrimitive(baseline.label())).create();
        manifest.add("attribution_options", gson.toJsonTree(attributionOptions));
        Manifest.claim(inputs.folder(), manifest, "attribution_options");
        AttributionResult result;
        try (Lvlm model = Lvlm.load(inputs.model())) {
            result = HeadAttribution.of(model).options(attributionOptions).prompt(inputs.prompt()).progress(out)
                    .run(inputs.samples(), inputs.folder());
        }
        ResultFolder folder = inputs.folder();
        folder.writeCsv("samples", result.samples());
        folder.writeCsv("heads", result.heads());
        folder.writeCsv("per_sample_heads", result.perSampleHeads());
        folder.writeCsv("by_class", result.byClass());
        folder.writeCsv("curves", result.curvesTable());
        folder.writeCsv("areas", result.areas());
        folder.writeCsv("similarity", result.similarity());
        folder.writeCsv("similarity_matrix", result.similarityMatrix());
        manifest.addProperty("samples_used", result.used().size());
        manifest.addProperty("heldout_r", result.meanHeldOutCorrelation());
        Manifest.finish(manifest, result.seconds());
        folder.writeJson("manifest.json", manifest);
        return result;
    }
}
